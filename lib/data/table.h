// data.dataset = "csv": a table with a header row (data.train, and data.test or a seeded
// data.val_fraction of it, default a fifth). data.target names the target column: class
// labels (integers or strings; their names sorted, numerically where all are integers) for
// train.task = "classification", numbers otherwise. The features are data.features (default:
// every other numeric column) plus data.categorical, string columns one-hot encoded over the
// categories of the training split (a category unseen there encodes as all zeros). Missing
// cells (empty, NA, N/A, NaN, null, None) are an error naming file:line and column, or with
// data.missing = "mean" the training split's mean (an all-zero one-hot for a categorical).
// Numeric features are standardised by the training split's mean and standard deviation;
// the schema with those statistics is the dataset's preprocessing(), saved with the run.
// Samples: float32 [features] -> int64 label or float32 target.
#pragma once
#include <nlohmann/json.hpp>

#include "data/csv_reader.h"
#include "data/dataset.h"

namespace kiln::data {

struct TableSchema {
  std::string target;
  bool classes = false;                              // class labels (else a float32 number)
  std::vector<std::string> class_names;              // by label
  std::vector<std::string> numeric;                  // numeric feature columns, in order
  std::vector<double> mean, std, fill;               // per numeric feature: standardisation; the missing value's fill
  std::vector<std::string> categorical;              // one-hot columns, after the numeric ones
  std::vector<std::vector<std::string>> categories;  // per categorical column, sorted
  int64_t width() const;
  nlohmann::json to_json() const;
};

class TableDataset : public Dataset {
 public:
  TableDataset(std::shared_ptr<const TableSchema> schema, std::vector<float> x, std::vector<int64_t> labels,
               std::vector<float> y, std::string fingerprint);
  int64_t size() const override { return rows_; }
  SampleSpec spec() const override;
  void read(int64_t index, void* input, void* target) const override;
  std::string fingerprint() const override { return fingerprint_; }
  std::string preprocessing() const override { return schema_->to_json().dump(); }

 private:
  std::shared_ptr<const TableSchema> schema_;
  std::vector<float> x_;  // rows x width, row-major, standardised
  std::vector<int64_t> labels_;
  std::vector<float> y_;
  int64_t rows_;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::string fingerprint_;
};

// The schema of `train` from the config (columns, classes, categories, statistics over
// `rows`, the training split's rows). Error::usage naming file:line and column.
TableSchema table_schema(const CsvTable& train, const std::vector<int64_t>& rows, const config::DataConfig& cfg);

// `rows` of `t` encoded by `schema` (t may be the test file: columns found by name).
std::shared_ptr<TableDataset> encode_table(const CsvTable& t, const std::vector<int64_t>& rows,
                                           std::shared_ptr<const TableSchema> schema, const config::DataConfig& cfg,
                                           const std::string& fingerprint);

Splits load_csv(const config::DataConfig& cfg);

}  // namespace kiln::data
