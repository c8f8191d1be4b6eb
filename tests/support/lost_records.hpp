#pragma once

// Fault injection on real captures (issue 26): the trace a tracer writes when it lost some of a
// run's records. The EV records on trace lines [first, last] (1-based) are removed. Records
// numbered by a stap script (`sq=`) then show the loss by their gap, as stap's do; for others one
// LOST record (probes/trace_format.hpp) stands where they were, its window spanning the EV records
// kept on either side, as the kprobe tracer writes after its ring buffer overwrote them (the test
// guests have one CPU, so the lost records of a time span are all of them).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace harness::testing {

struct TraceLine {
  std::string text;
  bool event = false;
  std::uint64_t ts_ns = 0; // EV records
};

inline std::vector<TraceLine> split_trace(std::string_view trace) {
  std::vector<TraceLine> out;
  while (!trace.empty()) {
    const auto nl = trace.find('\n');
    TraceLine l;
    l.text = std::string(trace.substr(0, nl));
    trace.remove_prefix(nl == std::string_view::npos ? trace.size() : nl + 1);
    if (l.text.rfind("HX1 EV ", 0) == 0) {
      l.event = true;
      l.ts_ns = std::stoull(l.text.substr(7, l.text.find(' ', 7) - 7));
    }
    out.push_back(std::move(l));
  }
  return out;
}

// The 1-based line numbers of the EV records.
inline std::vector<std::size_t> event_lines(const std::vector<TraceLine>& lines) {
  std::vector<std::size_t> events;
  for (std::size_t i = 1; i <= lines.size(); ++i)
    if (lines[i - 1].event)
      events.push_back(i);
  return events;
}

// `cause` is a probes::trace::lost_cause word.
inline std::string drop_records(const std::vector<TraceLine>& lines, std::size_t first,
                                std::size_t last, std::string_view cause = "overrun") {
  std::string before = "-", after = "-";
  std::uint64_t n = 0;
  bool numbered = false;
  for (std::size_t i = 1; i <= lines.size(); ++i) {
    const TraceLine& l = lines[i - 1];
    if (!l.event)
      continue;
    if (i < first)
      before = std::to_string(l.ts_ns);
    else if (i <= last)
      ++n, numbered = numbered || l.text.find(" sq=") != std::string::npos;
    else if (after == "-")
      after = std::to_string(l.ts_ns);
  }
  std::string out;
  for (std::size_t i = 1; i <= lines.size(); ++i) {
    const TraceLine& l = lines[i - 1];
    if (i == first && !numbered)
      out += "HX1 LOST " + before + " " + after + " - " + std::to_string(n) + " " +
             std::string(cause) + "\n";
    if (l.event && i >= first && i <= last)
      continue;
    out += l.text + "\n";
  }
  return out;
}

} // namespace harness::testing
