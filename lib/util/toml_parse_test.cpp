// Unit tests for util/toml_parse.h: the depth and size bounds that keep toml++'s recursion
// from overflowing the stack (a 50,000-part table header segfaulted kiln), with messages
// naming the source and line, and no false alarms on real TOML (dots in numbers, brackets
// and dots inside strings and comments, multi-line arrays and strings).
#include <gtest/gtest.h>

#include <string>

#include "util/error.h"
#include "util/toml_parse.h"

namespace kiln::util {
namespace {

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// The dotted name a.a.a... with `parts` parts.
std::string dotted(int parts) { return "a" + repeat(".a", parts - 1); }

// The message of the kiln::Error::usage that parse_toml throws (fails the test otherwise).
std::string parse_error(const std::string& text, const std::string& source = "deep.toml") {
  try {
    parse_toml(text, source);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text.substr(0, 80);
  return "";
}

TEST(TomlParse, DeepTableHeaderIsAUsageErrorNotACrash) {
  // 50,000 parts segfaulted toml++ (stack overflow building and destroying nested tables).
  const std::string msg = parse_error("[x]\nk = 1\n[" + dotted(50000) + "]\n");
  EXPECT_NE(msg.find("deep.toml:3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more than 64 levels"), std::string::npos) << msg;
  parse_error("[[" + dotted(50000) + "]]\n");
}

TEST(TomlParse, DeepDottedKeysInlineTablesAndArraysAreUsageErrors) {
  EXPECT_NE(parse_error(dotted(50000) + " = 1\n").find("deep.toml:1"), std::string::npos);
  parse_error("a = " + repeat("{b = ", 100000) + "1" + repeat("}", 100000) + "\n");
  parse_error("a = " + repeat("[", 100000) + repeat("]", 100000) + "\n");
  // Levels add up: 30 header parts + a 40-part key.
  parse_error("[" + dotted(30) + "]\n" + dotted(40) + " = 1\n");
  // An inline table's own keys count below its key's parts.
  parse_error("x = { " + dotted(40) + " = { " + dotted(40) + " = 1 } }\n");
  // Unterminated: the scan still counts what toml++ would build before it fails.
  parse_error("[" + dotted(50000));
}

TEST(TomlParse, TheLimitItselfIsAccepted) {
  EXPECT_NO_THROW(parse_toml(dotted(kMaxTomlDepth) + " = 1\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("[" + dotted(kMaxTomlDepth - 1) + "]\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("a = " + repeat("[", kMaxTomlDepth - 1) + repeat("]", kMaxTomlDepth - 1), "x.toml"));
  parse_error(dotted(kMaxTomlDepth + 1) + " = 1\n");
}

TEST(TomlParse, DotsAndBracketsInValuesStringsAndCommentsDoNotCount) {
  const std::string floats = "v = [" + repeat("1.5, ", 10000) + "2.5]\n";
  EXPECT_NO_THROW(parse_toml(floats, "x.toml"));
  EXPECT_NO_THROW(parse_toml("[space.\"" + dotted(1000) + "\"]\nt = 12:00:00.5\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("s = \"" + repeat("[{", 1000) + "\"\n# " + repeat("[a.", 1000) + "\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("m = '''\n" + repeat("[a.b.c\n", 1000) + "'''\nq = \"\\\"[[[\"\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("e = \"\"\"a \\\"\"\" [[[[\"\"\"\nz = 1\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("t = [\n  { a.b = 1 },\n  { c = [1.0, {d = 2}] },\n]\n[x.y]\nz = {}\n", "x.toml"));
}

TEST(TomlParse, HeadersThatTomlppAssertsOnAreUsageErrors) {
  // Found by fuzz/: toml++ 3.3 asserts (release builds: assumes) that a header's name starts
  // with a key character; these reached that assertion.
  for (const std::string bad : {"[[[a]]]\n", "[\x01]\n", "[\n", "[#]\n", "x = 1\n[ \r]\n", "[ [a]]\n"}) {
    EXPECT_NE(parse_error(bad, "h.toml").find("invalid TOML at h.toml:"), std::string::npos) << bad;
  }
  for (const std::string bad : {"v = [}\n", "v = [1, }\n", "v = {a = [}]}\n", "v = [\n # c\n }\n"}) {
    EXPECT_NE(parse_error(bad, "h.toml").find("array element"), std::string::npos) << bad;
  }
  EXPECT_NE(parse_error("\xef\xb3\xbft\n", "u.toml").find("non-ASCII"), std::string::npos);
  EXPECT_NE(parse_error("a = 1 \xc3\xa9\n", "u.toml").find("u.toml:1"), std::string::npos);
  EXPECT_NE(parse_error("e =0\"f\xef\xb3\xbf\"\n", "u.toml").find("non-ASCII"), std::string::npos);  // not a string
  // Found by fuzz/spec_fuzz: after a number toml++ scans to a value terminator through
  // quotes and brackets, and reached U+03E1 there.
  const char crash[] = "ee =3\"x\x06\"[\"\0\0)x^^.a.a\xcf\xa1^^\n";
  EXPECT_NE(parse_error(std::string(crash, sizeof crash - 1), "u.toml").find("non-ASCII"), std::string::npos);
  const char nul[] = "v =3\"x\"[\"\0)x^3\"x\"[\"\0)x^\xcf\xa1\n";  // a NUL does not end the scan
  EXPECT_NE(parse_error(std::string(nul, sizeof nul - 1), "u.toml").find("non-ASCII"), std::string::npos);
  EXPECT_NE(parse_error("v = 3\"x\"[\"\xcf\xa1\"]\n", "u.toml").find("non-ASCII"), std::string::npos);
  // toml++ checks the character after a multi-line string's backslash (and after the
  // whitespace a line-ending backslash trims) for Unicode whitespace: refused where that
  // is undefined behaviour, read where it is not (U+4E2D) or where no backslash precedes.
  for (const std::string bad : {"a = \"\"\"\\\xcf\xa1\"\"\"\n", "a = \"\"\"x\\\n  \xc3\xa9\"\"\"\n"}) {
    EXPECT_NE(parse_error(bad, "m.toml").find("after a backslash"), std::string::npos) << bad;
  }
  EXPECT_NO_THROW(parse_toml("a = \"\"\"x\\\n  \xe4\xb8\xad \xc3\xa9\\u00e9\"\"\"\n", "m.toml"));
  EXPECT_NO_THROW(parse_toml("a = \"\"\"\xcf\xa1\"\"\"\nb = 'x\\\xcf\xa1'\n", "m.toml"));
  EXPECT_NO_THROW(parse_toml("d = 1979-05-27 07:32:00Z\nx = [1.5e3,2]  # caf\xc3\xa9\ny = {z = -inf}\n", "m.toml"));
  EXPECT_NO_THROW(
      parse_toml("[\"\xc3\xa9\".'k\xc3\xa9']\n\"\xc3\xa9\" = [\"\xc3\xa9\", {a = '\xc3\xa9'}]\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("s = \"\xc3\xa9\xef\xb3\xbf\"  # caf\xc3\xa9\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("v = [ ]\nw = [{}, {a = 1},]\nx = [[1], [2]]\n", "x.toml"));
  EXPECT_NO_THROW(parse_toml("[[a]]\n[ b ]\n[ \"q\" . c]\n[[ 'd' ]]\n[-_9]\n", "x.toml"));
}

TEST(TomlParse, SyntaxErrorsNameSourceAndLine) {
  const std::string msg = parse_error("[optim]\nlr = = 1\n", "bad.toml");
  EXPECT_NE(msg.find("invalid TOML at bad.toml:2"), std::string::npos) << msg;
}

TEST(TomlParse, HugeTextIsAUsageError) {
  const std::string big(kMaxTomlBytes + 1, '#');
  const std::string msg = parse_error(big, "big.toml");
  EXPECT_NE(msg.find("big.toml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("16 MiB"), std::string::npos) << msg;
}

}  // namespace
}  // namespace kiln::util
