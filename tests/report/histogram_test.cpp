#include "harness/report/histogram.hpp"

#include <gtest/gtest.h>

using namespace harness::report;

TEST(Histogram, ExactBelow128AndWithinOnePercentAbove) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v)
    h.add(v);
  auto p = h.percentiles();
  EXPECT_EQ(p.count, 100u);
  EXPECT_EQ(p.min, 1u);
  EXPECT_EQ(p.max, 100u);
  EXPECT_EQ(p.p50, 50u);
  EXPECT_EQ(p.p90, 90u);
  EXPECT_EQ(p.p99, 99u);

  Histogram big;
  for (std::uint64_t v = 1; v <= 100000; ++v)
    big.add(v * 1000);
  auto q = big.percentiles();
  EXPECT_NEAR(static_cast<double>(q.p50), 50'000'000.0, 50'000'000.0 * 0.01);
  EXPECT_NEAR(static_cast<double>(q.p99), 99'000'000.0, 99'000'000.0 * 0.01);
  EXPECT_EQ(q.max, 100'000'000u);
}

TEST(Histogram, BucketsCoverEveryValue) {
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{127},
                          std::uint64_t{128}, std::uint64_t{255}, std::uint64_t{256},
                          std::uint64_t{1000000007}, std::uint64_t{UINT64_MAX}}) {
    const auto b = Histogram::bucket_of(v);
    EXPECT_LE(Histogram::bucket_low(b), v);
    if (v != UINT64_MAX) {
      EXPECT_GT(Histogram::bucket_high(b), v);
    }
  }
  Histogram h;
  EXPECT_EQ(h.percentiles().count, 0u);
  EXPECT_EQ(h.quantile(0.5), 0u);
}
