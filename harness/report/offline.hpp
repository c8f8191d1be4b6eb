#pragma once

// `harness report`: rebuild a report from saved outputs (the raw trace, the sender's records,
// the probe plan), optionally compared with a baseline report.

#include "base/result.hpp"
#include "harness/report/analyze.hpp"
#include "harness/report/baseline.hpp"
#include "harness/report/report.hpp"

#include <optional>
#include <string>

namespace harness::report {

struct OfflineRequest {
  std::string trace_path;                 // required
  std::optional<std::string> sender_path; // harness.sender/1
  std::optional<std::string> plan_path;   // harness.plan/1
  std::optional<std::string> baseline_path;
  BaselineOptions baseline;
  AnalyzeOptions analyze;
};

// Errors: a missing or malformed input file (Exit::usage, naming it), an unreadable one
// (Exit::io).
Result<Report> rebuild_report(const OfflineRequest& req);

// Compares `r` with the report at `path` and stores the comparison in `r`.
Status compare_report_file(Report& r, const std::string& path, const BaselineOptions& options);

// Writes report.json-style output (pretty-printed, atomically).
Status write_report_json(const Report& r, const std::string& path);

} // namespace harness::report
