#include "harness/report/offline.hpp"

#include "base/files.hpp"
#include "harness/report/report_json.hpp"

#include <regex>

namespace harness::report {
namespace {

// A tracefs text line: "  harness-1  [000] d....  1.636271: event: ..." (task-pid, [cpu], flags,
// seconds:). What a kprobe run reads from its buffer and turns into HX1 records as it goes.
bool looks_like_tracefs_text(const std::string& path) {
  if (path == "-")
    return false;
  auto text = read_file(path);
  if (!text)
    return false;
  static const std::regex line(
      R"(^\s*\S+-[0-9]+\s+(\([ 0-9-]+\)\s+)?\[[0-9]+\]\s+\S+\s+[0-9]+\.[0-9]+: )");
  std::size_t start = 0, seen = 0, tracefs = 0;
  for (std::size_t nl; seen < 20 && (nl = text->find('\n', start)) != std::string::npos;
       start = nl + 1) {
    const std::string l = text->substr(start, nl - start);
    if (l.empty() || l[0] == '#')
      continue;
    ++seen;
    tracefs += std::regex_search(l, line) ? 1 : 0;
  }
  return seen > 0 && tracefs * 2 > seen;
}

} // namespace

Result<Report> rebuild_report(const OfflineRequest& req) {
  AnalyzeInputs in;
  if (req.plan_path) {
    auto plan = load_input(probes::load_plan, "--plan", *req.plan_path, probes::kPlanHint);
    if (!plan)
      return std::unexpected(plan.error());
    in.plan = std::move(*plan);
  }
  if (req.sender_path) {
    auto s = load_sender_records(*req.sender_path);
    if (!s)
      return std::unexpected(s.error());
    in.sender = std::move(*s);
  }
  std::optional<Report> baseline;
  if (req.baseline_path) {
    // Read before the (possibly long) trace so a bad baseline fails fast.
    auto b = load_report(*req.baseline_path);
    if (!b)
      return std::unexpected(b.error());
    baseline = std::move(*b);
  }
  Analysis analysis(req.analyze, std::move(in));
  if (auto s = feed_trace_file(req.trace_path, analysis); !s)
    return std::unexpected(s.error());
  Report r = analysis.finish();
  // No record at all: not a trace (an empty file, /etc/passwd, random bytes). A report of it
  // would say "every frame accounted for" about nothing.
  if (r.trace.records == 0 && looks_like_tracefs_text(req.trace_path))
    return fail(Exit::usage, "trace " + req.trace_path,
                "is tracefs text (the kprobe tracer's raw buffer), not probe records",
                "give trace.txt of the run directory: a kprobe run turns its buffer into those "
                "records as it reads it, with the definitions only it knows");
  if (r.trace.records == 0)
    return fail(Exit::usage, "trace " + req.trace_path,
                "holds no probe records (" + std::to_string(r.trace.lines) +
                    " lines, none an \"HX1 \" record)",
                "give the raw probe output saved by `harness run` (trace.txt of a run directory)");
  if (baseline)
    r.comparison = compare_with_baseline(*baseline, r, req.baseline, *req.baseline_path);
  return r;
}

Status compare_report_file(Report& r, const std::string& path, const BaselineOptions& options) {
  auto b = load_report(path);
  if (!b)
    return std::unexpected(b.error());
  r.comparison = compare_with_baseline(*b, r, options, path);
  return {};
}

Status write_report_json(const Report& r, const std::string& path) {
  return write_file_atomic(path, report_json_text(r));
}

} // namespace harness::report
