// The run's last step: whatever was captured, analysed and written as the report (partial when
// the run did not end well), with the sender's own record and the baseline comparison.
#include "base/files.hpp"
#include "harness/report/offline.hpp"
#include "harness/report/report_html.hpp"
#include "harness/report/report_json.hpp"
#include "harness/session/run_steps.hpp"
#include "sender/send_audit.hpp"
#include "sender/send_record_json.hpp"

#include <cstring>

namespace harness::session {
namespace {

std::string signal_text(int sig) {
  const char* a = ::sigabbrev_np(sig);
  return a ? std::string("SIG") + a : "signal " + std::to_string(sig);
}

// --allow-nearest, or a nearest map taken without pre-flight: the lines are a neighbouring
// kernel's, so the report can never say OK (an anomaly makes the verdict and the exit status say
// so; docs/report-schema.md). `how`: why those lines were used and what vouches for them.
void mark_lines_not_proven(report::Report& r, const std::string& map_release,
                           const std::string& how) {
  report::Anomaly a;
  a.kind = "lines_not_proven";
  a.message = "lines not proven: the probes sit on the lines of the nearest shipped map (" +
              map_release + "), not of this kernel's own af_packet.c (" + how + ")";
  r.anomalies.insert(r.anomalies.begin(), std::move(a));
}

} // namespace

Status Session::write_reports() {
  if (auto s = write_file_atomic(dir_ + "/report.txt", out_.report_text); !s)
    return s;
  if (auto s = report::write_report_json(out_.report, dir_ + "/report.json"); !s)
    return s;
  if (!req_.json_path.empty())
    if (auto s = report::write_report_json(out_.report, req_.json_path); !s)
      return s;
  for (const auto& html : {dir_ + "/report.html", req_.html_path})
    if (!html.empty())
      if (auto s = report::write_report_html(out_.report, html); !s)
        return s;
  return {};
}

// Writes whatever was captured as the report, whatever happened.
Result<RunOutcome> Session::finish() {
  watch();
  if (interrupt_requested()) {
    out_.interrupted = true;
    const std::string when = interrupted_in_.empty() ? step_text(step_) : interrupted_in_;
    partial_reason_ = "interrupted by " + signal_text(interrupt_signal()) + " while " + when;
    failure_ = Error{Exit::interrupted, "run",
                     "interrupted by " + signal_text(interrupt_signal()) + " while " + when +
                         "; what was captured is in " + dir_ + " (report marked partial)",
                     ""};
  }
  if (sent_) {
    if (auto s = write_file_atomic(dir_ + "/sender.json", sender::to_json_text(*sent_, 2)); !s)
      return std::unexpected(s.error());
    if (auto s = write_file_atomic(dir_ + "/sender.txt", sender::format_audit(*sent_)); !s)
      return std::unexpected(s.error());
  }
  report::AnalyzeInputs in;
  if (probes_)
    in.plan = probes_->plan;
  in.sender = sent_;
  if (program_)
    in.workload = program_->info();
  else if (attached_)
    in.workload = attached_;
  in.partial = !partial_reason_.empty();
  in.partial_reason = partial_reason_;
  report::Analysis analysis(req_.analyze, std::move(in));
  if (path_exists(trace_))
    if (auto s = report::feed_trace_file(trace_, analysis); !s)
      return std::unexpected(s.error());
  out_.report = analysis.finish();
  if (lines_not_proven_)
    mark_lines_not_proven(out_.report, map_->entry.map.release,
                          req_.preflight ? "--allow-nearest; every anchor passed the DWARF "
                                           "check, but a probe may still sit on another statement"
                                         : "--no-preflight: chosen by version alone, no anchor "
                                           "was checked against the kernel");
  out_.report.run.run_dir = dir_;
  if (baseline_)
    out_.report.comparison =
        report::compare_with_baseline(*baseline_, out_.report, req_.baseline, *req_.baseline_path);
  out_.report_text = report::format_report_text(out_.report);
  if (auto s = write_reports(); !s)
    return std::unexpected(s.error());
  out_.error = failure_;
  return std::move(out_);
}

} // namespace harness::session
