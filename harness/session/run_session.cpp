// The order of a run's steps (Session::run) and where its directory goes; the steps themselves
// are in run_prepare.cpp, run_workload.cpp and run_finish.cpp (run_steps.hpp).
#include "harness/session/run_session.hpp"

#include "harness/session/run_steps.hpp"
#include "probes/probe_plan.hpp"
#include "tracers/tracers.hpp"

#include <cstring>
#include <ctime>
#include <sys/stat.h>

namespace harness::session {

bool path_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string seconds(std::chrono::milliseconds ms) {
  return std::to_string(ms.count() / 1000) +
         (ms.count() % 1000 ? "." + std::to_string(ms.count() % 1000 / 100) : "") + " s";
}

namespace {

// The tracer when pre-flight did not choose one (--no-preflight): the one asked for (or whose
// prebuilt probes were given), else the first of the list.
const tracer::Tracer& tracer_without_preflight(const RunRequest& req) {
  if (req.backend)
    return *req.backend;
  if (const tracer::Tracer* t = tracers::for_artifact(req.artifact); t && !req.artifact.empty())
    return *t;
  return *tracers::all().front();
}

} // namespace

std::string default_run_dir() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "harness-run-%Y%m%d-%H%M%S", &tm);
  std::string dir = std::string("./") + buf;
  for (int i = 2; path_exists(dir); ++i)
    dir = std::string("./") + buf + "-" + std::to_string(i);
  return dir;
}

std::string Session::step_text(Step s) const {
  switch (s) {
  case Step::preflight:
    return "pre-flight";
  case Step::preparing:
    return "preparing the probes";
  case Step::starting:
    return "starting " + tracer_name_;
  case Step::waiting_ready:
    return "waiting for " + tracer_name_ + " to get ready";
  case Step::workload:
    return req_.attach_pid     ? "attached to pid " + std::to_string(req_.attach_pid)
           : req_.exec.empty() ? "sending"
                               : "running the workload";
  case Step::settling:
    return "waiting for the kernel to finish";
  case Step::stopping:
    return "stopping " + tracer_name_;
  }
  return "";
}

Result<RunOutcome> Session::run() {
  const std::string& artifact = req_.artifact;
  plan_in_ = artifact.empty()
                 ? ""
                 : (req_.plan_path.empty() ? probes::artifact_plan_path(artifact) : req_.plan_path);
  auto probe_set = probes::parse_probe_set(req_.probes);
  if (!probe_set)
    return std::unexpected(probe_set.error());
  probe_set_ = *probe_set;
  if (req_.attach_pid) { // a pid that is not there fails before anything is made
    auto p = describe_process(req_.attach_pid);
    if (!p)
      return std::unexpected(p.error());
  }
  // A program that cannot be started fails now, not once the probes are compiled and live.
  if (!req_.exec.empty() && !find_program(req_.exec.front()))
    return fail(Exit::usage, "--exec " + req_.exec.front(),
                "not found, not a regular file or not executable",
                "give the program's path, or a name on PATH (it is started without a shell)");
  // The user's files first: a bad baseline or prebuilt probes is bad input on any machine, and
  // must not be reported only after pre-flight sent the user to another one (a VM).
  if (auto s = load_baseline(); !s)
    return std::unexpected(s.error());
  tracer_ = &tracer_without_preflight(req_);
  if (!artifact.empty())
    if (auto s = load_prebuilt(); !s)
      return std::unexpected(s.error());
  if (auto s = preflight(); !s)
    return std::unexpected(s.error());
  tracer_name_ = tracer_->title();
  if (auto s = make_run_dir(); !s)
    return std::unexpected(s.error());

  if (interrupt_requested())
    return finish();
  step_ = Step::preparing;
  if (auto s = prepare_probes(); !s)
    return std::unexpected(s.error());
  step_ = Step::starting;
  if (auto s = start_tracer(); !s)
    return std::unexpected(s.error());
  step_ = Step::waiting_ready;
  if (!wait_ready())
    return finish();
  step_ = Step::workload;
  run_workload();
  settle();
  watch();
  step_ = Step::stopping;
  stop_tracer();
  return finish();
}

Result<RunOutcome> run_session(const RunRequest& req, const RunHooks& hooks) {
  Session session(req, hooks);
  return session.run();
}

} // namespace harness::session
