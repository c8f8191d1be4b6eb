#pragma once

// The steps of one `harness run` (run_session.hpp), inside this library only: the Session that
// holds what the steps share, declared here so that its steps can live in files by what they do:
// run_session.cpp (the order of the steps), run_prepare.cpp (pre-flight, the run directory, the
// probes, the tracer started), run_workload.cpp (READY, the workload, settling, the tracer
// stopped), run_finish.cpp (the report written, whatever happened).

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "base/signals.hpp"
#include "harness/report/report.hpp"
#include "harness/report/workload.hpp"
#include "harness/session/exec_workload.hpp"
#include "harness/session/run_session.hpp"
#include "harness/session/trace_buffer.hpp"
#include "probes/map_store.hpp"
#include "sender/send_record.hpp"
#include "tracer/tracer.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace harness::session {

using Clock = std::chrono::steady_clock;

// "3 s", "0.5 s": a wait as the progress lines say it.
std::string seconds(std::chrono::milliseconds ms);
bool path_exists(const std::string& p);

// Where a run is, for the progress lines and the partial report's reason ("interrupted by
// SIGINT while sending").
enum class Step : std::uint8_t {
  preflight,
  preparing,
  starting,
  waiting_ready,
  workload,
  settling,
  stopping
};

// One `harness run`: the locals every step shares, and the steps in the order run() calls them.
// Each step either moves the run on or records why the run ends (failure, partial reason); every
// path out of run() after the run directory exists goes through finish().
class Session {
public:
  Session(const RunRequest& req, const RunHooks& hooks)
      : req_(req), hooks_(hooks), sys_(hooks.system ? *hooks.system : real_),
        select_(hooks.select_map ? hooks.select_map : shipped_map_selector()) {}

  Result<RunOutcome> run();

private:
  void say(const std::string& s) const {
    if (hooks_.progress)
      hooks_.progress(s);
  }
  std::string step_text(Step s) const;
  void watch() {
    if (interrupt_requested() && interrupted_in_.empty())
      interrupted_in_ = step_text(step_);
  }

  Status preflight();
  Status load_baseline();
  Status make_run_dir();
  Status prepare_probes();
  Status load_prebuilt();
  Status generate_probes();
  Status start_tracer();
  bool wait_ready();
  void run_workload();
  void send_builtin();
  void run_program();
  void attach_program();
  bool duration_over(Clock::time_point t0) const {
    return req_.duration && Clock::now() - t0 >= *req_.duration;
  }
  void pump_tracer(const std::string& what_continues);
  void plan_buffer();
  void settle();
  void stop_tracer();
  Status write_reports();
  Result<RunOutcome> finish();

  const RunRequest& req_;
  const RunHooks& hooks_;
  RealSystem real_;
  const SystemView& sys_;
  const MapSelector select_;

  std::string plan_in_; // the prebuilt probes' plan
  probes::ProbeSet probe_set_{};
  std::optional<probes::MapSelection> map_;
  const tracer::Tracer* tracer_ = nullptr;
  std::string tracer_name_;
  bool lines_not_proven_ = false;
  std::optional<report::Report> baseline_;

  std::string dir_, trace_, log_;
  RunOutcome out_;
  Step step_ = Step::preflight;
  std::optional<tracer::RunProbes> probes_;
  std::unique_ptr<tracer::TracerSession> session_;
  TraceBufferPlan buffer_;
  std::unique_ptr<Pacer> pacer_; // the built-in sender with pacing (RunRequest::pace)
  std::optional<sender::SenderRecord> sent_;
  std::unique_ptr<ExecWorkload> program_;        // --exec
  std::optional<report::WorkloadInfo> attached_; // --pid
  std::optional<ExitStatus> tracer_died_;
  std::optional<Error> failure_;
  std::string partial_reason_;
  std::string interrupted_in_; // the step the first interrupt arrived in
};

} // namespace harness::session
