#pragma once

// Shared by the report tests: real stap output captured in the VM (tests/fixtures/traces, see
// its README) and the sender records of those runs (tests/report/fixtures).

#include "base/files.hpp"
#include "harness/report/analyze.hpp"

#include <gtest/gtest.h>
#include <string>

namespace harness::report::testing {

inline std::string trace_fixture(const std::string& name) {
  return std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/" + name + ".trace";
}
inline std::string sender_fixture(const std::string& name) {
  return std::string(HARNESS_SOURCE_DIR) + "/tests/report/fixtures/" + name + ".sender.json";
}

inline std::string read_text(const std::string& path) {
  auto t = read_file(path);
  EXPECT_TRUE(t) << path;
  return t ? *t : std::string();
}

inline sender::SenderRecord sender_records(const std::string& name) {
  auto r = load_sender_records(sender_fixture(name));
  EXPECT_TRUE(r) << (r ? "" : format_error(r.error()));
  return r ? *r : sender::SenderRecord{};
}

// Runs the whole pipeline over trace text.
inline Report analyze_text(std::string_view text, std::optional<sender::SenderRecord> sender = {},
                           std::optional<probes::ProbePlan> plan = {}, AnalyzeOptions opt = {}) {
  AnalyzeInputs in;
  in.sender = std::move(sender);
  in.plan = std::move(plan);
  Analysis a(opt, std::move(in));
  feed_trace_text(text, a);
  return a.finish();
}

inline const Anomaly* find_anomaly(const Report& r, const std::string& kind) {
  for (const auto& a : r.anomalies)
    if (a.kind == kind)
      return &a;
  return nullptr;
}

// A sender frame record.
inline sender::FrameRecord frame(std::uint64_t seq, std::uint32_t index, std::int64_t t_request) {
  sender::FrameRecord f;
  f.seq = seq;
  f.index = index;
  f.t_fill_ns = t_request - 100;
  f.t_request_ns = t_request;
  f.t_send_ns = t_request + 1000;
  f.t_done_ns = t_request + 100000;
  f.final_status = sender::SlotStatus::available;
  return f;
}

} // namespace harness::report::testing
