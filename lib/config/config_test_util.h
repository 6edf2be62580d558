// Helpers shared by config/'s unit tests: catching the usage error a bad config must raise,
// and a substring expectation that prints the whole message when it fails.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "util/error.h"

namespace kiln::config::test {

// Runs `fn`, expects a kiln::Error with the usage exit code, and returns its message, with
// " | hint: <hint>" appended when `with_hint`.
inline std::string usage_error(const std::function<void()>& fn, bool with_hint = false) {
  try {
    fn();
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ExitCode::kUsage) << e.what();
    return with_hint ? std::string(e.what()) + " | hint: " + e.hint() : std::string(e.what());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected kiln::Error, got another exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected kiln::Error, nothing was thrown";
  return "";
}

}  // namespace kiln::config::test

#define EXPECT_CONTAINS(haystack, needle)                                                 \
  do {                                                                                    \
    const std::string h_ = (haystack);                                                    \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << needle << "' not in: " << h_; \
  } while (0)
