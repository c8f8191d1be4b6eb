#pragma once

// The report's part about a program run as the workload (`harness run --exec`): how it ended,
// and what the report cannot say without the built-in sender's records
// (docs/report-schema.md "workload").

#include "harness/report/report.hpp"

#include <string>

namespace harness::report {

// "exit status 0", "killed by SIGSEGV", "stopped by harness (SIGINT)", "still running".
std::string workload_end_text(const WorkloadInfo& w);

// Puts `w` into the report with its findings: `workload_failed` when the program did not exit
// 0 by itself, `no_kernel_records` when not one frame of its TX ring was seen, and a note on
// what only the built-in sender adds.
void attach_workload(Report& r, WorkloadInfo w);

} // namespace harness::report
