#include "harness/report/text_util.hpp"

#include <gtest/gtest.h>

using namespace harness::report;

TEST(TextUtil, Durations) {
  EXPECT_EQ(format_duration(850), "850 ns");
  EXPECT_EQ(format_duration(12345), "12.3 us");
  EXPECT_EQ(format_duration(4560000), "4.56 ms");
  EXPECT_EQ(format_duration(1230000000), "1.23 s");
}

TEST(TextUtil, ListsStatusesErrnos) {
  EXPECT_EQ(format_list({1, 2, 3}, 5), "1, 2, 3 (and 2 more)");
  EXPECT_EQ(plural(1, "frame", "frames"), "1 frame");
  EXPECT_EQ(status_text(0x20000000), "AVAILABLE");
  EXPECT_EQ(status_text(2), "SENDING");
  EXPECT_EQ(status_text(3), "3");
  EXPECT_EQ(errno_value_text(-105), "-105 (ENOBUFS)");
  EXPECT_EQ(errno_value_text(300), "300");
  EXPECT_EQ(format_hex(0xffff888000000000ull), "0xffff888000000000");
}
