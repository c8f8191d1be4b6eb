#include "base/result.hpp"

#include <gtest/gtest.h>

using namespace harness;

TEST(Result, FormatErrorWithHint) {
  Error e{Exit::interface, "interface eth9", "no such device", "list interfaces with `ip link`"};
  EXPECT_EQ(format_error(e),
            "harness: interface eth9: no such device\nhint: list interfaces with `ip link`");
}

TEST(Result, FormatErrorWithoutHint) {
  EXPECT_EQ(format_error({Exit::usage, "--count 0", "must be at least 1", ""}),
            "harness: --count 0: must be at least 1");
}

TEST(Result, FailCarriesCode) {
  Result<int> r = fail(Exit::not_root, "send", "needs root");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::not_root);
}
