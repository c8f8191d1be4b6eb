#pragma once

// The kprobe tracer's instance uses trace_clock `mono` (CLOCK_MONOTONIC); the sender stamps its
// records with CLOCK_REALTIME. One offset moves the kernel's times onto the sender's
// (kprobe_session.cpp). Reading the two clocks one after the other is not enough: the task can
// be preempted between the reads (a guest's vCPU descheduled under TCG on a busy host: 3.5 ms
// once), and every kernel record would then seem that much earlier than the sender's, which the
// report rightly calls a clock_skew anomaly. So the offset is taken from several
// (realtime, monotonic, realtime) brackets: the monotonic read happened between the bracket's two
// realtime reads, so the tightest bracket bounds the error by half its width.

#include <cstdint>
#include <ctime>
#include <functional>

namespace harness::kprobe {

struct ClockOffset {
  std::int64_t realtime_minus_monotonic_ns = 0;
  std::int64_t uncertainty_ns = 0; // half the tightest bracket
};

using ClockReader = std::function<std::int64_t(clockid_t)>;

// `samples` brackets of `read` (default: clock_gettime); at least one.
ClockOffset measure_clock_offset(const ClockReader& read = {}, int samples = 32);

} // namespace harness::kprobe
