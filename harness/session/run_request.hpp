#pragma once

// What one `harness run` is asked to do (RunRequest), and the refusals of options that cannot
// make a run, before anything starts: each an Exit::usage error naming the options, with a hint.
// The command line maps its options onto a request and calls the checks in the order below,
// between its own parsing of the sender's, the tracer's and the report's options, so that of two
// mistakes the same one is always named first.

#include "base/result.hpp"
#include "harness/report/analyze.hpp"
#include "harness/report/baseline.hpp"
#include "sender/sender_config.hpp"
#include "tracer/tracer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harness::session {

struct RunRequest {
  // The built-in sender's settings; with `exec` only where to run (iface, veth, netns_path).
  sender::SenderConfig sender;
  // --exec -- PROGRAM [ARGS...]: this program is the workload instead of the built-in sender
  // (exec_workload.hpp); empty: the sender.
  std::vector<std::string> exec;
  // --pid PID: attach to this running program instead (until Ctrl-C, its end or `duration`).
  std::uint32_t attach_pid = 0;
  // --duration: how long --exec's program may run (then it is stopped) or --pid stays attached.
  std::optional<std::chrono::milliseconds> duration;
  std::string kernel_spec = "auto"; // line map (--kernel)
  std::string probes = "status";    // probe set
  std::string build_dir;            // -r: stap -r DIR (cross-build against a build tree)
  // Prebuilt probes (--module FILE.ko, --kprobes FILE.kprobes): `backend` is their tracer.
  std::string artifact;
  std::string plan_path; // the prebuilt artifact's plan; default FILE.plan.json
  // --backend: the tracer; nullptr: auto (pre-flight chooses).
  const tracer::Tracer* backend = nullptr;
  tracer::Tools tools;   // --stap, --staprun, --perf, --stap-arg
  std::string out_dir;   // default ./harness-run-<timestamp>
  std::string json_path; // --json: also write report.json here
  std::string html_path; // --html: also write report.html here
  std::optional<std::string> baseline_path;
  report::BaselineOptions baseline;
  report::AnalyzeOptions analyze;
  bool allow_nearest = false; // --allow-nearest (preflight.hpp): report marked "lines not proven"
  bool preflight = true;      // false: skip the checks (tests with a stand-in stap)
  // --trace-buffer: the tracer's buffer per CPU in KiB (stap rounds up to MiB); none: sized for
  // the run (trace_buffer.hpp).
  std::optional<std::uint64_t> trace_buffer_kb;
  // --no-pace clears it: the built-in sender waits while the tracer is a buffer's worth behind.
  bool pace = true;
  std::chrono::milliseconds ready_timeout{std::chrono::seconds(300)};
  std::chrono::milliseconds settle_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds stop_grace{std::chrono::seconds(3)};
};

// What the command line said that a RunRequest does not hold as given.
struct RunOptions {
  bool exec = false;   // --exec (its program, after `--`, is RunRequest::exec)
  bool dashes = false; // a `--`, with or without a program after it
  // --pid as typed: signed, so that "-1" is refused rather than wrapped to 4294967295.
  std::optional<std::int64_t> pid;
  std::optional<double> duration_s; // --duration in seconds
  // The built-in sender's options given (their long names, in the order they are declared),
  // and whether IFACE was: with --exec or --pid the sender does not run.
  std::vector<std::string> sender_options;
  bool iface = false;
  // --ready-timeout, --settle-timeout, --stop-grace in seconds.
  double ready_s = 300, settle_s = 5, grace_s = 3;
};

// 1. Before the sender's options are read: --exec needs its program (`req.exec`) and `--` needs
// --exec; --pid excludes --exec; --duration needs one of them; with --exec only IFACE, --veth and
// --netns of the sender's options (where the program runs), with --pid none.
Status check_workload(const RunRequest& req, const RunOptions& o);
// 2. The workload into `req`: --pid (1 to PID_MAX_LIMIT), --duration (as check 4's waits).
Status set_workload(RunRequest& req, const RunOptions& o);
// 3. Once the tracer's prebuilt probes are known: --plan is theirs.
Status check_plan(const RunRequest& req);
// 4. --no-pace only with the built-in sender; the waits into `req`, 0.001 to 86400 seconds each.
Status set_waits(RunRequest& req, const RunOptions& o);

} // namespace harness::session
