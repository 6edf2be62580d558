// The csv source: schema from the training rows, encoding, the split.
#include "data/table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "config/config.h"
#include "repro/rng.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/text.h"

namespace kiln::data {
namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

bool is_missing(const std::string& raw) {
  static const std::set<std::string> kMissing = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"};
  return kMissing.count(trim(raw)) > 0;
}

// A finite number, the whole cell (surrounding spaces and a leading '+' allowed).
bool parse_number(const std::string& raw, double* out) {
  std::string s = trim(raw);
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(*out);
}

int64_t column(const CsvTable& t, const std::string& name, const std::string& key) {
  const int64_t c = t.find(name);
  if (c < 0) {
    std::string msg = t.path.string() + " has no column '" + name + "' (" + key + ")";
    const std::string hint = util::did_you_mean(name, t.header);
    if (!hint.empty()) msg += "; " + hint;
    std::string cols;
    for (const auto& h : t.header) cols += (cols.empty() ? "" : ", ") + h;
    throw Error::usage(msg, "its columns: " + util::shorten(cols, 400));
  }
  return c;
}

[[noreturn]] void bad_cell(const CsvTable& t, int64_t row, const std::string& col, const std::string& what,
                           const std::string& hint) {
  throw Error::usage(t.where(row) + ", column '" + col + "': " + what, hint);
}

bool numeric_column(const CsvTable& t, int64_t c) {
  double v;
  for (const auto& cell : t.columns[size_t(c)]) {
    if (!is_missing(cell) && !parse_number(cell, &v)) return false;
  }
  return true;
}

}  // namespace

int64_t TableSchema::width() const {
  int64_t w = int64_t(numeric.size());
  for (const auto& c : categories) w += int64_t(c.size());
  return w;
}

nlohmann::json TableSchema::to_json() const {
  nlohmann::json f = nlohmann::json::array();
  for (size_t i = 0; i < numeric.size(); ++i) {
    f.push_back({{"column", numeric[i]}, {"mean", mean[i]}, {"std", std[i]}, {"fill", fill[i]}});
  }
  for (size_t i = 0; i < categorical.size(); ++i) {
    for (const auto& c : categories[i]) f.push_back({{"column", categorical[i]}, {"one_hot", c}});
  }
  nlohmann::json j = {{"source", "csv"}, {"target", target}, {"features", f}};
  j["target_kind"] = classes ? "class" : "number";
  if (classes) j["classes"] = class_names;
  return j;
}

TableSchema table_schema(const CsvTable& t, const std::vector<int64_t>& rows, const config::DataConfig& cfg) {
  if (cfg.target.empty()) {
    std::string cols;
    for (const auto& h : t.header) cols += (cols.empty() ? "" : ", ") + h;
    throw Error::usage("data.target is not set: data.dataset = \"csv\" needs the target column's name",
                       "one of: " + util::shorten(cols, 400));
  }
  TableSchema s;
  s.target = cfg.target;
  const int64_t tc = column(t, cfg.target, "data.target");
  s.classes = cfg.task == "classification";
  for (int64_t r = 0; r < t.rows(); ++r) {
    if (is_missing(t.columns[size_t(tc)][size_t(r)])) {
      bad_cell(t, r, cfg.target, "the target is missing", "every row needs a target: drop the row or fill it in");
    }
  }
  if (s.classes) {
    // Integers sort as numbers, anything else as bytes (Python's sorted on the strings).
    std::set<std::string> names;
    for (const int64_t r : rows) names.insert(trim(t.columns[size_t(tc)][size_t(r)]));
    s.class_names.assign(names.begin(), names.end());
    bool integers = true;
    for (const auto& n : s.class_names) {
      double v;
      integers = integers && parse_number(n, &v) && v == std::floor(v);
    }
    if (integers) {
      std::stable_sort(s.class_names.begin(), s.class_names.end(),
                       [](const std::string& a, const std::string& b) { return std::stod(a) < std::stod(b); });
    }
  } else if (!numeric_column(t, tc)) {
    double v;
    for (int64_t r = 0; r < t.rows(); ++r) {
      if (!parse_number(t.columns[size_t(tc)][size_t(r)], &v)) {
        bad_cell(t, r, cfg.target, "'" + util::shorten(t.columns[size_t(tc)][size_t(r)]) + "' is not a number",
                 "train.task = \"" + cfg.task +
                     "\" needs numeric targets; class labels need train.task = "
                     "\"classification\"");
      }
    }
  }
  // Features: data.features, else every other numeric column; data.categorical one-hot.
  std::set<std::string> categorical(cfg.categorical.begin(), cfg.categorical.end());
  std::vector<std::string> wanted = cfg.features;
  if (wanted.empty()) {
    for (int64_t c = 0; c < int64_t(t.header.size()); ++c) {
      if (c != tc && !categorical.count(t.header[size_t(c)]) && numeric_column(t, c))
        wanted.push_back(t.header[size_t(c)]);
    }
  }
  for (const auto& name : cfg.categorical) {
    column(t, name, "data.categorical");
    if (name == cfg.target) throw Error::usage("data.categorical lists the target column '" + name + "'");
  }
  for (const auto& name : wanted) {
    const int64_t c = column(t, name, "data.features");
    if (c == tc) throw Error::usage("data.features lists the target column '" + name + "'", "drop it from the list");
    if (categorical.count(name)) continue;
    double v;
    for (int64_t r = 0; r < t.rows(); ++r) {
      const std::string& cell = t.columns[size_t(c)][size_t(r)];
      if (!is_missing(cell) && !parse_number(cell, &v)) {
        bad_cell(t, r, name, "'" + util::shorten(cell) + "' is not a number",
                 "list the column in data.categorical to one-hot encode it, or leave it out of data.features");
      }
    }
    s.numeric.push_back(name);
  }
  s.categorical = cfg.categorical;
  if (s.numeric.empty() && s.categorical.empty()) {
    throw Error::usage(t.path.string() + ": no feature columns (no numeric column besides the target)",
                       "name them in data.features, or one-hot string columns with data.categorical");
  }
  // Statistics over the training rows; a missing cell is an error unless data.missing = "mean".
  for (const auto& name : s.numeric) {
    const int64_t c = t.find(name);
    double sum = 0, sq = 0;
    int64_t n = 0;
    for (const int64_t r : rows) {
      double v;
      if (!parse_number(t.columns[size_t(c)][size_t(r)], &v)) continue;
      sum += v;
      sq += v * v;
      ++n;
    }
    const double mean = n ? sum / double(n) : 0.0;
    const double var = n ? std::max(0.0, sq / double(n) - mean * mean) : 0.0;
    s.mean.push_back(mean);
    s.std.push_back(var > 0 ? std::sqrt(var) : 1.0);  // a constant column stays 0 after centring
    s.fill.push_back(mean);
  }
  for (const auto& name : s.categorical) {
    const int64_t c = t.find(name);
    std::set<std::string> cats;
    for (const int64_t r : rows) {
      if (!is_missing(t.columns[size_t(c)][size_t(r)])) cats.insert(trim(t.columns[size_t(c)][size_t(r)]));
    }
    s.categories.emplace_back(cats.begin(), cats.end());
  }
  return s;
}

std::shared_ptr<TableDataset> encode_table(const CsvTable& t, const std::vector<int64_t>& rows,
                                           std::shared_ptr<const TableSchema> s, const config::DataConfig& cfg,
                                           const std::string& fingerprint) {
  const int64_t w = s->width();
  std::vector<float> x(rows.size() * size_t(w), 0.0f), y;
  std::vector<int64_t> labels;
  const bool fill = cfg.missing == "mean";
  std::vector<int64_t> num_cols, cat_cols;
  for (const auto& n : s->numeric) num_cols.push_back(column(t, n, "data.features"));
  for (const auto& n : s->categorical) cat_cols.push_back(column(t, n, "data.categorical"));
  const int64_t tc = column(t, s->target, "data.target");
  std::map<std::string, int64_t> label_of;
  for (size_t i = 0; i < s->class_names.size(); ++i) label_of[s->class_names[i]] = int64_t(i);
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t r = rows[i];
    float* out = x.data() + i * size_t(w);
    for (size_t f = 0; f < num_cols.size(); ++f) {
      const std::string& cell = t.columns[size_t(num_cols[f])][size_t(r)];
      double v;
      if (!parse_number(cell, &v)) {
        if (!is_missing(cell)) bad_cell(t, r, s->numeric[f], "'" + util::shorten(cell) + "' is not a number", "");
        if (!fill) {
          bad_cell(t, r, s->numeric[f], "a missing value",
                   "fill it in, or set data.missing = \"mean\" (the training split's mean)");
        }
        v = s->fill[f];
      }
      out[f] = float((v - s->mean[f]) / s->std[f]);
    }
    int64_t at = int64_t(num_cols.size());
    for (size_t k = 0; k < cat_cols.size(); ++k) {
      const std::string& cell = t.columns[size_t(cat_cols[k])][size_t(r)];
      const auto& cats = s->categories[k];
      if (is_missing(cell) && !fill) {
        bad_cell(t, r, s->categorical[k], "a missing value",
                 "fill it in, or set data.missing = \"mean\" (a missing category encodes as all zeros)");
      }
      const auto it = std::lower_bound(cats.begin(), cats.end(), trim(cell));
      if (it != cats.end() && *it == trim(cell)) out[at + (it - cats.begin())] = 1.0f;
      at += int64_t(cats.size());
    }
    const std::string target = trim(t.columns[size_t(tc)][size_t(r)]);
    if (s->classes) {
      const auto it = label_of.find(target);
      if (it == label_of.end()) {
        bad_cell(t, r, s->target, "class '" + util::shorten(target) + "' is not among the training split's classes",
                 "every class needs training rows");
      }
      labels.push_back(it->second);
    } else {
      double v;
      if (!parse_number(target, &v)) bad_cell(t, r, s->target, "'" + util::shorten(target) + "' is not a number", "");
      y.push_back(float(v));
    }
  }
  return std::make_shared<TableDataset>(std::move(s), std::move(x), std::move(labels), std::move(y), fingerprint);
}

TableDataset::TableDataset(std::shared_ptr<const TableSchema> schema, std::vector<float> x, std::vector<int64_t> labels,
                           std::vector<float> y, std::string fingerprint)
    : schema_(std::move(schema)),
      x_(std::move(x)),
      labels_(std::move(labels)),
      y_(std::move(y)),
      rows_(int64_t(schema_->classes ? labels_.size() : y_.size())),
      fingerprint_(std::move(fingerprint)) {
  if (schema_->classes) names_ = std::make_shared<const std::vector<std::string>>(schema_->class_names);
}

SampleSpec TableDataset::spec() const {
  SampleSpec s;
  s.input = {c10::ScalarType::Float, {schema_->width()}};
  if (schema_->classes) {
    s.target = {c10::ScalarType::Long, {}};
    s.num_classes = int64_t(schema_->class_names.size());
    s.class_names = names_;
  } else {
    s.target = {c10::ScalarType::Float, {}};
  }
  return s;
}

void TableDataset::read(int64_t index, void* input, void* target) const {
  const int64_t w = schema_->width();
  std::copy_n(x_.data() + index * w, w, static_cast<float*>(input));
  if (schema_->classes) {
    *static_cast<int64_t*>(target) = labels_[size_t(index)];
  } else {
    *static_cast<float*>(target) = y_[size_t(index)];
  }
}

Splits load_csv(const config::DataConfig& cfg) {
  if (cfg.train.empty()) throw Error::usage("data.train is not set: data.dataset = \"csv\" needs a CSV file");
  const CsvTable train = read_csv(cfg.train);
  std::vector<int64_t> train_rows, test_rows;
  std::optional<CsvTable> test;
  if (!cfg.test.empty()) {
    test = read_csv(cfg.test);
    for (int64_t r = 0; r < train.rows(); ++r) train_rows.push_back(r);
    for (int64_t r = 0; r < test->rows(); ++r) test_rows.push_back(r);
  } else {
    // A seeded shuffle of the rows: the first fraction is held out (fixed key, as image folders').
    const double fraction = cfg.val_fraction > 0 ? cfg.val_fraction : 0.2;
    std::vector<std::pair<uint64_t, int64_t>> keyed;
    for (int64_t r = 0; r < train.rows(); ++r) keyed.emplace_back(repro::philox_u64(0x637376, uint64_t(r), 0), r);
    std::sort(keyed.begin(), keyed.end());
    const int64_t held = std::max<int64_t>(1, int64_t(std::llround(fraction * double(train.rows()))));
    if (held >= train.rows()) {
      throw Error::usage(train.path.string() + ": " + std::to_string(train.rows()) +
                             " rows are too few to hold out a validation share",
                         "give more rows or a data.test file");
    }
    for (int64_t i = 0; i < train.rows(); ++i) (i < held ? test_rows : train_rows).push_back(keyed[size_t(i)].second);
    std::sort(test_rows.begin(), test_rows.end());
    std::sort(train_rows.begin(), train_rows.end());
  }
  auto schema = std::make_shared<const TableSchema>(table_schema(train, train_rows, cfg));
  const std::string print = "csv:" + train.sha256.substr(0, 16) + (test ? "+" + test->sha256.substr(0, 16) : "");
  Splits s;
  s.train = encode_table(train, train_rows, schema, cfg, print + ":train" + std::to_string(train_rows.size()));
  s.test =
      encode_table(test ? *test : train, test_rows, schema, cfg, print + ":test" + std::to_string(test_rows.size()));
  log::info("csv: " + train.path.string() + ", " + std::to_string(train_rows.size()) + " training and " +
            std::to_string(test_rows.size()) + " validation rows; " + std::to_string(schema->width()) + " features (" +
            std::to_string(schema->numeric.size()) + " numeric, " + std::to_string(schema->categorical.size()) +
            " one-hot columns); target '" + schema->target + "' " +
            (schema->classes ? "(" + std::to_string(schema->class_names.size()) + " classes)" : "(a number)"));
  return s;
}

}  // namespace kiln::data
