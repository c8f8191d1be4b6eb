#include "harness/report/baseline.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>

using namespace harness::report;
using namespace harness::report::testing;

namespace {
constexpr const char* kWrap = "6.1.192-O0-v2-20frames-ring8-status";

bool has_regression(const Comparison& c, const std::string& what) {
  for (const auto& g : c.regressions)
    if (g.what == what)
      return true;
  return false;
}
} // namespace

TEST(Baseline, SameRunHasNoRegression) {
  const Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  const auto c = compare_with_baseline(r, r, {}, "old.json");
  EXPECT_TRUE(c.regressions.empty());
}

// The tolerance is the boundary: a p99 20% slower than the baseline is within 25%, 30% slower is
// not (both far above the 10 us floor).
TEST(Baseline, ToleranceIsTheBoundaryForLatency) {
  Report base = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  base.summary.latency.p99 = 1'000'000;
  Report within = base;
  within.summary.latency.p99 = 1'200'000;
  EXPECT_TRUE(compare_with_baseline(base, within, {.tolerance = 0.25}, "b").regressions.empty());
  Report beyond = base;
  beyond.summary.latency.p99 = 1'300'000;
  const auto c = compare_with_baseline(base, beyond, {.tolerance = 0.25}, "b");
  ASSERT_EQ(c.regressions.size(), 1u);
  EXPECT_EQ(c.regressions[0].what, "latency p99");
}

TEST(Baseline, OptimisedKernelLosesPhasesAndProbes) {
  const Report o0 = analyze_text(read_text(trace_fixture("6.1.192-O0-v2-2frames-status")));
  const Report o2 = analyze_text(read_text(trace_fixture("6.1.192-O2-v2-2frames-status")));
  const auto c = compare_with_baseline(o0, o2, {}, "o0.json");
  EXPECT_TRUE(has_regression(c, "phase sending"));
  EXPECT_TRUE(has_regression(c, "phase available"));
  EXPECT_TRUE(has_regression(c, "probe set_status.v2_break"));
  EXPECT_TRUE(has_regression(c, "probe snd.return"));
  EXPECT_FALSE(has_regression(c, "phase destruct"));
  Report with = o2;
  with.comparison = c;
  EXPECT_EQ(with.exit_code(), 1);
}

TEST(Baseline, LatencyBeyondToleranceAndWorseOutcomes) {
  Report base = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  Report cur = base;
  cur.summary.latency.p99 = base.summary.latency.p99 * 2 + 1'000'000;
  cur.summary.latency.p50 = base.summary.latency.p50 + 1000; // within the floor
  cur.summary.stuck = 2;
  auto c = compare_with_baseline(base, cur, {.tolerance = 0.25}, "old.json");
  EXPECT_TRUE(has_regression(c, "latency p99"));
  EXPECT_FALSE(has_regression(c, "latency p50"));
  EXPECT_TRUE(has_regression(c, "frames stuck"));
  // Faster is a note, not a regression.
  auto better = compare_with_baseline(cur, base, {.tolerance = 0.25}, "old.json");
  EXPECT_FALSE(has_regression(better, "latency p99"));
  EXPECT_FALSE(better.notes.empty());
}

TEST(Baseline, NewBlockingWithDontwait) {
  Report base = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  Report cur = base;
  cur.summary.blocked_calls = 3;
  EXPECT_TRUE(has_regression(compare_with_baseline(base, cur, {}, "b"), "blocked_dontwait"));
}
