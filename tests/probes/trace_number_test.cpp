// The number grammar of trace records (probes/trace_number.hpp).
#include "probes/trace_number.hpp"

#include <gtest/gtest.h>

using harness::probes::parse_trace_number;

TEST(TraceNumber, DecimalsNegativesAndHexAtTheEdgesOfEightAtATime) {
  EXPECT_EQ(parse_trace_number("0"), 0u);
  EXPECT_EQ(parse_trace_number("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_trace_number("18446744073709551616"));
  EXPECT_EQ(parse_trace_number("0xffffffffffffffff"), UINT64_MAX);
  EXPECT_FALSE(parse_trace_number("0x1ffffffffffffffff"));
  EXPECT_EQ(static_cast<std::int64_t>(*parse_trace_number("-1")), -1);
  EXPECT_FALSE(parse_trace_number("0x"));
  EXPECT_FALSE(parse_trace_number("-"));
  EXPECT_FALSE(parse_trace_number(""));
  EXPECT_FALSE(parse_trace_number("1e3"));
  // The edges of the eight-at-a-time paths.
  EXPECT_EQ(parse_trace_number("1795505159586053325"), 1795505159586053325u); // 19 digits
  EXPECT_EQ(parse_trace_number("00000000000000000001"), 1u);                  // 20 digits
  EXPECT_FALSE(parse_trace_number("99999999999999999999"));
  EXPECT_FALSE(parse_trace_number("000000000000000000001")); // 21 digits
  EXPECT_EQ(parse_trace_number("12345678"), 12345678u);
  EXPECT_EQ(parse_trace_number("0x12345678"), 0x12345678u);
  EXPECT_EQ(parse_trace_number("0xABCDEF0123456789"), 0xabcdef0123456789u);
  EXPECT_EQ(parse_trace_number("0xffff888002e9d61"), 0xffff888002e9d61u); // 15 digits
  EXPECT_FALSE(parse_trace_number("0x00000000000000001"));                // 17 digits
  EXPECT_FALSE(parse_trace_number("0xffff88800g2e9d610"));
  EXPECT_FALSE(parse_trace_number("0xffff888002e9d6100"));
}
