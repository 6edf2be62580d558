// kiln_tests entry point: GoogleTest plus a closing "N passed, N failed, N skipped" line
// that CI tooling reads.
#include <gtest/gtest.h>

#include <cstdio>

namespace {

class Totals : public testing::EmptyTestEventListener {
  void OnTestProgramEnd(const testing::UnitTest& u) override {
    std::printf("kiln_tests: %d passed, %d failed, %d skipped\n",
                u.successful_test_count(),  // skipped tests are not counted as successful
                u.failed_test_count(), u.skipped_test_count());
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new Totals);
  return RUN_ALL_TESTS();
}
