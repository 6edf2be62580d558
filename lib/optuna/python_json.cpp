// Python-compatible JSON writing and reading (see python_json.h for why it exists).
#include "optuna/python_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "util/error.h"

namespace kiln::optuna {
namespace {

// Strings that stand in for the non-finite tokens while nlohmann parses a line. They start
// with a NUL, which no JSON writer leaves unescaped and no real attr value carries.
const std::string kNanSentinel("\0kiln:NaN", 9);
const std::string kInfSentinel("\0kiln:+Infinity", 15);
const std::string kNegInfSentinel("\0kiln:-Infinity", 15);

void append_u_escape(std::string& out, unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", v & 0xffffu);
  out += buf;
}

// json.dumps(s) with ensure_ascii=True: escapes '"' and '\\', the short forms \b \f \n \r \t,
// everything else outside ' '..'~' as \uXXXX (lowercase hex, surrogate pairs above the BMP).
void append_python_string(std::string& out, const std::string& s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7f)
            append_u_escape(out, c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence; reject what Python's decoder would reject.
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (c >= 0xf8 || len == 0 || i + len > s.size()) len = 0;
    uint32_t cp = len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0u) != 0x80u) len = 0;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (len == 0 || cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      throw Error::usage("a JSON string is not valid UTF-8 (byte " + std::to_string(i) + ")",
                         "use UTF-8 text in names, choices and attributes");
    }
    if (cp < 0x10000) {
      append_u_escape(out, cp);
    } else {
      cp -= 0x10000;
      append_u_escape(out, 0xd800 + (cp >> 10));
      append_u_escape(out, 0xdc00 + (cp & 0x3ffu));
    }
    i += static_cast<size_t>(len);
  }
  out += '"';
}

template <class Json>
void dump_value(std::string& out, const Json& j, JsonSeparators seps) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      break;
    case nlohmann::json::value_t::boolean:
      out += j.template get<bool>() ? "true" : "false";
      break;
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(j.template get<std::int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(j.template get<std::uint64_t>());
      break;
    case nlohmann::json::value_t::number_float:
      out += python_json_float(j.template get<double>());
      break;
    case nlohmann::json::value_t::string:
      append_python_string(out, j.template get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += seps.item;
        first = false;
        dump_value(out, e, seps);
      }
      out += ']';
      break;
    }
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out += seps.item;
        first = false;
        append_python_string(out, it.key());
        out += seps.key;
        dump_value(out, it.value(), seps);
      }
      out += '}';
      break;
    }
    default:
      throw Error::runtime("python_json_dumps: binary or discarded JSON values cannot be written");
  }
}

// Replaces the sentinel strings left by python_json_loads with the doubles they stand for.
void restore_nonfinite(nlohmann::json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.empty() || s[0] != '\0') return;
    if (s == kNanSentinel)
      j = std::nan("");
    else if (s == kInfSentinel)
      j = HUGE_VAL;
    else if (s == kNegInfSentinel)
      j = -HUGE_VAL;
  } else if (j.is_array() || j.is_object()) {
    for (auto& e : j) restore_nonfinite(e);
  }
}

bool is_number_like(const nlohmann::json& j) { return j.is_number() || j.is_boolean(); }

double as_double(const nlohmann::json& j) {
  if (j.is_boolean()) return j.get<bool>() ? 1.0 : 0.0;
  return j.get<double>();
}

}  // namespace

std::string python_json_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits in scientific form, "d.ddde[+-]XX", then laid out the way
  // Python's repr does: plain notation when the decimal exponent is in [-4, 16).
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  const size_t e_pos = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e_pos; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  const int decpt = exponent + 1;  // digits = 0.d1d2... x 10^decpt
  const int n = static_cast<int>(digits.size());
  std::string out = negative ? "-" : "";
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (n > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%+03d", exponent);
    out += ebuf;
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  } else if (decpt >= n) {
    out += digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
  }
  return out;
}

std::string python_json_dumps(const nlohmann::json& j, JsonSeparators seps) {
  std::string out;
  dump_value(out, j, seps);
  return out;
}

std::string python_json_dumps(const nlohmann::ordered_json& j, JsonSeparators seps) {
  std::string out;
  dump_value(out, j, seps);
  return out;
}

nlohmann::json python_json_loads(std::string_view text) {
  // Outside strings, 'N' and 'I' can only start NaN / Infinity (true, false, null and
  // exponents use other letters), so one pass that skips string contents finds them all.
  std::string rewritten;
  size_t copied = 0;  // text[0, copied) is already in `rewritten`
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    const std::string* sentinel = nullptr;
    size_t len = 0;
    if (text.compare(i, 3, "NaN") == 0)
      sentinel = &kNanSentinel, len = 3;
    else if (text.compare(i, 8, "Infinity") == 0)
      sentinel = &kInfSentinel, len = 8;
    else if (text.compare(i, 9, "-Infinity") == 0)
      sentinel = &kNegInfSentinel, len = 9;
    if (sentinel == nullptr) continue;
    rewritten.append(text.data() + copied, i - copied);
    rewritten += "\"\\u0000kiln:" + sentinel->substr(6) + "\"";
    i += len - 1;
    copied = i + 1;
  }
  if (copied == 0) return nlohmann::json::parse(text.begin(), text.end());
  rewritten.append(text.data() + copied, text.size() - copied);
  nlohmann::json j = nlohmann::json::parse(rewritten);
  restore_nonfinite(j);
  return j;
}

bool python_equal(const nlohmann::json& a, const nlohmann::json& b, bool nan_equal) {
  if (is_number_like(a) && is_number_like(b)) {
    if (a.is_number_float() || b.is_number_float()) {
      const double x = as_double(a), y = as_double(b);
      return x == y || (nan_equal && std::isnan(x) && std::isnan(y));
    }
    if (a.is_boolean() || b.is_boolean()) return as_double(a) == as_double(b);
    return a == b;  // integers: exact
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!python_equal(a[i], b[i], nan_equal)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace kiln::optuna
