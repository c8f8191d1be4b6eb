#pragma once

// Runs stap (or staprun) as a supervised child: its own process group, stdout (the probe
// records) written as is to the raw trace file, stderr and stap's other output to a log, compile
// progress reported, the READY record awaited with a timeout, and a stop that escalates SIGINT ->
// SIGTERM -> SIGKILL so the `probe end` summary is captured whenever stap still can.
//
// Not thread-safe: one thread starts, pumps and stops it (the orchestrator's main thread).

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "stap/stap_output.hpp"
#include "tracer/tracer_session.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace harness::stap {

using Launcher = tracer::Launcher;

struct SupervisorConfig {
  ChildSpec spec;         // exe, args, env, cwd; the output sinks are the supervisor's
  std::string trace_path; // stap's stdout, unchanged
  std::string log_path;   // stap's stderr and non-record stdout lines
  std::function<void(const stap::StapProgress&)> on_progress; // `stap -v` passes
  Launcher launcher;                                          // default: harness::spawn
};

class StapSupervisor : public tracer::TracerSession {
public:
  static Result<std::unique_ptr<StapSupervisor>> start(SupervisorConfig cfg);
  StapSupervisor(const StapSupervisor&) = delete;
  StapSupervisor& operator=(const StapSupervisor&) = delete;
  ~StapSupervisor() override; // stops stap if still running

  // Until the READY record. Errors: stap exited first (diagnosed from its output, the log
  // named), `timeout` passed (Exit::tracer_timeout), SIGINT/SIGTERM (Exit::interrupted).
  Status wait_ready(std::chrono::milliseconds timeout) override;
  // Moves output for up to `slice`; stap's exit status once it has exited.
  std::optional<ExitStatus> pump(std::chrono::milliseconds slice) override;
  // SIGINT, then SIGTERM, then SIGKILL, each after up to `grace`; reaps; flushes the files.
  ExitStatus stop(std::chrono::milliseconds grace) override;

  // Why stap stopped, in words: a known failure text or its exit status; names the log.
  Error failure(const ExitStatus& st, const std::string& while_doing) const override;

  bool ready() const { return ready_; }
  bool ended() const override { return end_seen_; } // the END record arrived
  std::uint64_t records() const { return records_; }
  // Frames the destructor gave back so far (live count of destruct records).
  std::uint64_t completions() const override;
  Clock::time_point last_output() const override { return last_output_; }
  std::optional<ExitStatus> exit_status() const { return child_->exit_status(); }
  const std::string& log_path() const { return cfg_.log_path; }
  const std::string& trace_path() const { return cfg_.trace_path; }
  std::string command() const { return describe_command(cfg_.spec); }
  pid_t pid() const { return child_->pid(); }

private:
  explicit StapSupervisor(SupervisorConfig cfg);
  void on_stdout(std::string_view line);
  void on_stderr(std::string_view line);
  void remember(std::string_view line);
  void flush_files();
  void write_losses();

  SupervisorConfig cfg_;
  std::unique_ptr<ChildProc> child_;
  std::FILE* trace_ = nullptr;
  std::FILE* log_ = nullptr;
  // The live view of its records: how many, READY and END seen, the records of each of
  // probes::completion_anchors (one per frame given back: completions()).
  std::uint64_t records_ = 0;
  std::array<std::uint64_t, 2> completions_{};
  bool ready_ = false;
  bool end_seen_ = false;
  stap::StapLosses losses_; // what stap said it did not deliver
  bool numbered_ = false;   // the records carry `sq` (their gaps place transport losses)
  bool losses_written_ = false;
  Clock::time_point last_output_{};
  std::string head_, tail_; // stap's messages kept for diagnosis (bounded)
  std::optional<ExitStatus> stopped_;
};

} // namespace harness::stap
