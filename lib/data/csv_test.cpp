// Tests of the csv source: RFC 4180 parsing (quotes, escaped quotes, line breaks in fields,
// CRLF, a byte-order mark), malformed files refused with file:line, and the table's schema:
// default features, one-hot categories, missing values, standardisation on the training rows
// only, class names sorted as numbers or strings, and every bad cell named.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "config/config.h"
#include "data/table.h"
#include "util/error.h"
#include "util/temp_dir.h"

namespace kiln::data {
namespace {

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    return e.what();
  }
  return "";
}

TEST(CsvReader, ParsesQuotesEscapesLineBreaksAndCrlf) {
  const std::string text =
      "\xEF\xBB\xBFname,note,n\r\n"
      "plain,\"with, comma\",1\r\n"
      "\"q\"\"uote\",\"two\nlines\",2\n"
      "\n"
      "last,,3";
  const CsvTable t = parse_csv(text, "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"name", "note", "n"}));
  ASSERT_EQ(t.rows(), 3);
  EXPECT_EQ(t.columns[0][1], "q\"uote");
  EXPECT_EQ(t.columns[1][0], "with, comma");
  EXPECT_EQ(t.columns[1][1], "two\nlines");
  EXPECT_EQ(t.columns[1][2], "");
  EXPECT_EQ(t.columns[2][2], "3");
  EXPECT_EQ(t.line, (std::vector<int64_t>{2, 3, 6})) << "a row's line counts the line breaks inside quotes";
  EXPECT_EQ(t.where(2), "t.csv:6");
}

TEST(CsvReader, RefusesMalformedFilesNamingTheLine) {
  EXPECT_NE(usage_error([] { parse_csv("a,b\n1,2\n3\n", "r.csv"); }).find("r.csv:3: 1 fields, but the header has 2"),
            std::string::npos);
  EXPECT_NE(usage_error([] { parse_csv("a,b\n1,\"open\n2,3\n", "q.csv"); }).find("q.csv:2: a quoted field is never"),
            std::string::npos);
  EXPECT_NE(usage_error([] { parse_csv("a,b\n1,x\"y\n", "u.csv"); }).find("u.csv:2: a quote inside an unquoted"),
            std::string::npos);
  EXPECT_NE(usage_error([] { parse_csv("a,b\n\"1\"x,2\n", "c.csv"); }).find("c.csv:2: text after a closing quote"),
            std::string::npos);
  EXPECT_NE(usage_error([] { parse_csv("a,a\n1,2\n", "d.csv"); }).find("names column 'a' twice"), std::string::npos);
  EXPECT_NE(usage_error([] { parse_csv("", "e.csv"); }).find("e.csv: the file is empty"), std::string::npos);
  EXPECT_NE(usage_error([] { parse_csv("a,b\n", "h.csv"); }).find("a header and no rows"), std::string::npos);
}

config::DataConfig table_config(const std::string& target, const std::string& task = "regression") {
  config::DataConfig c;
  c.dataset = "csv";
  c.target = target;
  c.task = task;
  return c;
}

const char* const kTable =
    "x,size,color,label,y\n"
    "1,10,red,2,1.5\n"
    "2,20,blue,10,2.5\n"
    "3,30,red,2,3.5\n"
    "4,,green,10,4.5\n";

TEST(Table, DefaultFeaturesAreTheOtherNumericColumnsStandardisedOnTrainingRows) {
  const CsvTable t = parse_csv(kTable, "t.csv");
  config::DataConfig c = table_config("y");
  c.missing = "mean";
  const std::vector<int64_t> train = {0, 1, 2};  // statistics from these rows only
  const TableSchema s = table_schema(t, train, c);
  EXPECT_EQ(s.numeric, (std::vector<std::string>{"x", "size", "label"})) << "color is not numeric: left out";
  EXPECT_DOUBLE_EQ(s.mean[0], 2.0);
  EXPECT_DOUBLE_EQ(s.std[0], std::sqrt(2.0 / 3.0));
  auto schema = std::make_shared<const TableSchema>(s);
  const auto ds = encode_table(t, {0, 1, 2, 3}, schema, c, "f");
  ASSERT_EQ(ds->spec().input.shape, (std::vector<int64_t>{3}));
  float x[3], y;
  ds->read(3, x, &y);
  EXPECT_FLOAT_EQ(x[0], float((4.0 - 2.0) / std::sqrt(2.0 / 3.0)));
  EXPECT_FLOAT_EQ(x[1], 0.0f) << "a missing size takes the training mean (20), 0 once standardised";
  EXPECT_FLOAT_EQ(y, 4.5f) << "targets stay in their own units";
  c.missing = "error";
  EXPECT_NE(usage_error([&] { encode_table(t, {3}, schema, c, "f"); }).find("t.csv:5, column 'size': a missing value"),
            std::string::npos);
}

TEST(Table, CategoricalColumnsAreOneHotOverTheTrainingCategories) {
  const CsvTable t = parse_csv(kTable, "t.csv");
  config::DataConfig c = table_config("y");
  c.features = {"x"};
  c.categorical = {"color"};
  auto schema = std::make_shared<const TableSchema>(table_schema(t, {0, 1, 2}, c));
  EXPECT_EQ(schema->categories[0], (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(schema->width(), 3);
  const auto ds = encode_table(t, {0, 1, 3}, schema, c, "f");
  float x[3], y;
  ds->read(0, x, &y);  // red
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[2], 1.0f);
  ds->read(2, x, &y);  // green: not among the training categories
  EXPECT_EQ(x[1] + x[2], 0.0f);
  const nlohmann::json j = schema->to_json();
  EXPECT_EQ(j["features"][2]["one_hot"], "red");
}

TEST(Table, ClassLabelsSortAsNumbersOrStrings) {
  const CsvTable t = parse_csv(kTable, "t.csv");
  const TableSchema ints = table_schema(t, {0, 1, 2, 3}, table_config("label", "classification"));
  EXPECT_EQ(ints.class_names, (std::vector<std::string>{"2", "10"})) << "2 < 10 as numbers, not as text";
  EXPECT_EQ(ints.numeric, (std::vector<std::string>{"x", "size", "y"}));
  const TableSchema strs = table_schema(t, {0, 1, 2, 3}, table_config("color", "classification"));
  EXPECT_EQ(strs.class_names, (std::vector<std::string>{"blue", "green", "red"}));
  auto schema = std::make_shared<const TableSchema>(table_schema(t, {0, 2}, table_config("color", "classification")));
  const std::string msg =
      usage_error([&] { encode_table(t, {1}, schema, table_config("color", "classification"), "f"); });
  EXPECT_NE(msg.find("t.csv:3, column 'color': class 'blue' is not among the training split's classes"),
            std::string::npos)
      << msg;
}

TEST(Table, RefusesBadColumnsAndCellsNamingThem) {
  const CsvTable t = parse_csv(kTable, "t.csv");
  EXPECT_NE(usage_error([&] { table_schema(t, {0}, table_config("prize")); }).find("no column 'prize'"),
            std::string::npos);
  EXPECT_NE(usage_error([&] { table_schema(t, {0}, table_config("")); }).find("data.target is not set"),
            std::string::npos);
  config::DataConfig c = table_config("y");
  c.features = {"x", "color"};
  EXPECT_NE(usage_error([&] { table_schema(t, {0}, c); }).find("t.csv:2, column 'color': 'red' is not a number"),
            std::string::npos);
  EXPECT_NE(usage_error([&] { table_schema(t, {0}, table_config("color")); }).find("'red' is not a number"),
            std::string::npos)
      << "a regression target must be numeric";
}

TEST(Table, LoadCsvSplitsBySeedAndRefusesFilesOverTheLimit) {
  util::TempDir tmp("csv");
  {
    std::ofstream f(tmp.path() / "t.csv");
    f << "a,b,y\n";
    for (int i = 0; i < 100; ++i) f << i << "," << i % 7 << "," << i * 0.5 << "\n";
  }
  config::DataConfig c = table_config("y");
  c.train = (tmp.path() / "t.csv").string();
  const Splits s = load_csv(c);
  EXPECT_EQ(s.train->size(), 80);
  EXPECT_EQ(s.test->size(), 20) << "a fifth held out by default";
  EXPECT_EQ(s.train->fingerprint(), load_csv(c).train->fingerprint());
  EXPECT_EQ(s.train->fingerprint().rfind("csv:", 0), 0u);
  c.val_fraction = 0.5;
  EXPECT_EQ(load_csv(c).test->size(), 50);
  EXPECT_FALSE(s.train->preprocessing().empty());
  // Over the limit: refused by size, before reading (a sparse file costs no disk).
  std::filesystem::resize_file(tmp.path() / "t.csv", uint64_t(kMaxCsvBytes) + 1);
  EXPECT_NE(usage_error([&] { load_csv(c); }).find("over kiln's CSV limit of 512 MiB"), std::string::npos);
}

}  // namespace
}  // namespace kiln::data
