#pragma once

// `harness run`: pre-flight, the probes made for the kernel by the chosen tracer (or prebuilt
// ones and their plan), the tracer started (tracer/tracer.hpp), READY awaited, the workload run
// (send, the --exec program, or --pid's) while draining the tracer's output, the kernel given
// time to finish, the tracer stopped, the records correlated and reported. Everything goes into
// one run directory: the tracer's probes and their plan (probes.stp + probes.stp.plan.json, or
// probes.kprobes + plan.json; plan.json with prebuilt probes), its log (stap.log, kprobe.log),
// trace.txt, sender.json (+ sender.txt, its audit) or the program's workload.stdout and
// workload.stderr, report.txt, report.json, report.html.
// SIGINT/SIGTERM in any phase: every child is stopped, what was captured is kept, the report is
// written marked partial, and the outcome says so (Exit::interrupted).

#include "base/result.hpp"
#include "harness/report/analyze.hpp"
#include "harness/report/baseline.hpp"
#include "harness/report/report.hpp"
#include "harness/session/preflight.hpp"
#include "harness/session/run_request.hpp"
#include "harness/session/system_view.hpp"
#include "sender/sender_config.hpp"
#include "tracer/tracer.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::session {

struct RunHooks {
  std::function<void(std::string_view)> progress; // one line of progress, for stderr
  tracer::Launcher launcher;                      // default: harness::spawn
  const SystemView* system = nullptr;             // default: the real machine
  MapSelector select_map;                         // default: the shipped maps
};

struct RunOutcome {
  std::string run_dir;
  report::Report report;
  std::string report_text;
  bool interrupted = false;
  // Set when the run could not do its job although a report was written (stap died, never got
  // ready, was interrupted): the exit status and message main prints.
  std::optional<Error> error;
  int exit_code() const { return error ? static_cast<int>(error->code) : report.exit_code(); }
};

// Errors: pre-flight failures and anything before the run directory holds a report (bad
// options, unwritable directory). After that, problems are in RunOutcome::error.
Result<RunOutcome> run_session(const RunRequest& req, const RunHooks& hooks = {});

// ./harness-run-YYYYmmdd-HHMMSS (with -N appended if it exists).
std::string default_run_dir();

} // namespace harness::session
