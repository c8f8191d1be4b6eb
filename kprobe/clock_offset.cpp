#include "kprobe/clock_offset.hpp"

#include <algorithm>
#include <limits>

namespace harness::kprobe {
namespace {

std::int64_t clock_gettime_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

ClockOffset measure_clock_offset(const ClockReader& read_in, int samples) {
  const ClockReader read = read_in ? read_in : ClockReader(clock_gettime_ns);
  ClockOffset best;
  std::int64_t best_width = std::numeric_limits<std::int64_t>::max();
  for (int i = 0; i < std::max(samples, 1); ++i) {
    const std::int64_t before = read(CLOCK_REALTIME);
    const std::int64_t mono = read(CLOCK_MONOTONIC);
    const std::int64_t after = read(CLOCK_REALTIME);
    const std::int64_t width = after - before;
    if (width >= 0 && width < best_width) {
      best_width = width;
      best = {before + width / 2 - mono, width / 2};
    }
  }
  return best;
}

} // namespace harness::kprobe
