#pragma once

// The whole offline pipeline: trace lines -> parser -> reorder window -> correlator -> report
// builder. Used by `harness report` on saved files and by `harness run` on what it captured, so
// both give the same report for the same inputs.

#include "base/result.hpp"
#include "harness/report/correlator.hpp"
#include "harness/report/loss.hpp"
#include "harness/report/reorder_window.hpp"
#include "harness/report/report.hpp"
#include "harness/report/report_builder.hpp"
#include "harness/report/sender_source.hpp"
#include "harness/report/trace_parser.hpp"
#include "probes/probe_plan.hpp"
#include "sender/send_record.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace harness::report {

struct AnalyzeOptions {
  std::uint64_t reorder_window_ns = 1'000'000'000;
  std::size_t reorder_max_records = 32768;
  std::size_t max_frame_rows = 10000;
  int tpacket = 0; // TPACKET version when neither sender records nor the trace say it (0: none)
};

struct AnalyzeInputs {
  std::optional<probes::ProbePlan> plan;
  std::optional<sender::SenderRecord> sender; // its frames feed the join unless `source` is set
  std::unique_ptr<SenderSource> source;       // frames generated elsewhere (benchmark)
  // `run --exec`: a program of the user's own was the workload; without sender records the
  // probe records of its process (pid) are the frames (workload.hpp).
  std::optional<WorkloadInfo> workload;
  bool partial = false;
  std::string partial_reason;
};

class Analysis {
public:
  Analysis(AnalyzeOptions options, AnalyzeInputs inputs);
  Analysis(const Analysis&) = delete;
  Analysis& operator=(const Analysis&) = delete;

  // What the tracer lost (the first pass over the trace, loss.hpp): before the first line.
  void set_losses(LossMap losses);
  void feed_line(std::string_view line);
  void feed_truncated_tail(std::string_view tail); // input ended without a newline
  // Flushes, finishes the correlator and builds the report. Call once.
  Report finish();

  const ParseStats& parse_stats() const { return parser_.stats(); }

private:
  AnalyzeOptions opt_;
  AnalyzeInputs in_;
  std::uint64_t sender_frame_records_ = 0;
  TraceParser parser_;
  LossMap losses_; // the correlator holds a pointer to it
  ReorderWindow window_;
  ReportBuilder builder_;
  std::unique_ptr<Correlator> correlator_;
};

// Reads `path` twice in large chunks (memory independent of its size): first for what the tracer
// lost (set_losses), then line by line into the analysis.
Status feed_trace_file(const std::string& path, Analysis& analysis);
void feed_trace_text(std::string_view text, Analysis& analysis);

// Loads the optional inputs of `harness report`: errors name the file and what is wrong.
Result<sender::SenderRecord> load_sender_records(const std::string& path);

} // namespace harness::report
