// Printing a RunConfig as commented TOML that loads back to the same config.
#include <charconv>
#include <cmath>
#include <sstream>

#include "config/fields.h"
#include "config/load.h"

namespace kiln::config {

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {  // TOML forbids raw control chars
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

namespace {

template <class T>
std::string join(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    if constexpr (std::is_same_v<T, double>) {
      out += format_double(v[i]);
    } else if constexpr (std::is_same_v<T, std::string>) {
      out += toml_string(v[i]);
    } else {
      out += std::to_string(v[i]);
    }
  }
  return out + "]";
}

}  // namespace

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

namespace {

std::string value_toml(const Field& f) {
  if (takes_bool(f)) {
    const std::string& v = *std::get<std::string*>(f.ptr);
    if (v == "true" || v == "false") return v;
  }
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::decay_t<decltype(*p)>;
        if constexpr (std::is_same_v<T, bool>)
          return *p ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>)
          return format_double(*p);
        else if constexpr (std::is_same_v<T, std::string>)
          return toml_string(*p);
        else if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<double>> ||
                           std::is_same_v<T, std::vector<std::string>>)
          return join(*p);
        else
          return std::to_string(*p);
      },
      f.ptr);
}

}  // namespace

std::map<std::string, std::string> flat_values(const RunConfig& cfg_in) {
  RunConfig cfg = cfg_in;
  std::map<std::string, std::string> out;
  for (const auto& f : fields(cfg)) out[f.key] = value_toml(f);
  return out;
}

std::string to_toml(const RunConfig& cfg_in) {
  RunConfig cfg = cfg_in;
  std::ostringstream out;
  std::string section;
  for (const auto& f : fields(cfg)) {
    // The last dot splits: "model.mlp.hidden" is `hidden` in [model.mlp].
    const auto dot = f.key.rfind('.');
    const std::string sec = f.key.substr(0, dot), name = f.key.substr(dot + 1);
    if (sec != section) {
      out << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    const std::string value = value_toml(f);
    std::string line = name + " = " + value;
    if (line.size() < 36) line.resize(36, ' ');
    out << line << " # " << f.help << "\n";
  }
  return out.str();
}

}  // namespace kiln::config
