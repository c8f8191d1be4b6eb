#pragma once

// A tpacket_snd call as the report keeps it (the correlator fills them, report_html_timeline.cpp
// draws them).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::report {

// One tpacket_snd call, for the HTML timeline's tpacket_snd lane (report_html_timeline.cpp): the
// first kMaxCallSpans calls of the run, by the records of their task.
struct CallSpan {
  std::uint32_t tid = 0;
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;             // its snd.return, 0: not seen
  std::optional<std::int64_t> ret;      // tpacket_snd's return value, when recorded
  std::vector<std::uint64_t> waits_ns;  // snd.wait: frames in flight, the call waits for them
  std::vector<std::uint64_t> sleeps_ns; // sched.sleep: the task gave up the CPU in the call
  // The findings in this call (the report's anomalies about tpacket_snd), at the record that
  // shows each: what it is, in a few words.
  std::vector<std::pair<std::uint64_t, std::string_view>> findings;
};
inline constexpr std::size_t kMaxCallSpans = 2000;

} // namespace harness::report
