// The offset from the kprobe tracer's monotonic times to the sender's realtime ones: a read
// delayed by a preemption must not shift every kernel record (a stock 6.1 run under TCG on a
// busy host showed its second lap of frames 3 ms before the sender filled them).
#include "kprobe/clock_offset.hpp"

#include <cstdlib>
#include <gtest/gtest.h>

namespace harness::kprobe {
namespace {

// Clocks 1000 s apart whose reads each take 50 ns; the task is preempted for 3.5 ms once,
// between the realtime and the monotonic read of the first bracket.
struct PreemptedClocks {
  std::int64_t now = 5'000'000'000; // monotonic time
  int reads = 0;
  std::int64_t operator()(clockid_t id) {
    now += 50;
    if (++reads == 2)
      now += 3'500'000;
    return id == CLOCK_REALTIME ? now + 1'000'000'000'000 : now;
  }
};

TEST(ClockOffset, ThePreemptedBracketIsNotTheOneTaken) {
  PreemptedClocks clocks;
  const auto one = measure_clock_offset(std::ref(clocks), 1);
  EXPECT_GT(std::llabs(one.realtime_minus_monotonic_ns - 1'000'000'000'000), 1'000'000)
      << "one bracket: the preemption is in it (what a single pair of reads gave)";
  PreemptedClocks again;
  const auto best = measure_clock_offset(std::ref(again), 32);
  EXPECT_EQ(best.realtime_minus_monotonic_ns, 1'000'000'000'000);
  EXPECT_EQ(best.uncertainty_ns, 50);
}

TEST(ClockOffset, TheRealClocksAgreeWithinTheBracket) {
  const auto o = measure_clock_offset();
  timespec rt{}, mono{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  ::clock_gettime(CLOCK_REALTIME, &rt);
  const std::int64_t later =
      (rt.tv_sec - mono.tv_sec) * 1'000'000'000 + (rt.tv_nsec - mono.tv_nsec);
  EXPECT_GE(o.uncertainty_ns, 0);
  // The second pair has no bracket; it is only as close as its reads, microseconds.
  EXPECT_LT(std::llabs(later - o.realtime_minus_monotonic_ns), 10'000'000);
}

} // namespace
} // namespace harness::kprobe
