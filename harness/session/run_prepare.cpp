// The run's preparing steps: pre-flight, the user's files (baseline, prebuilt probes), the run
// directory, the probes made for the kernel, the tracer's buffer and the tracer started.
#include "base/files.hpp"
#include "harness/report/report_json.hpp"
#include "harness/session/run_steps.hpp"
#include "kernel/build_id.hpp"
#include "probes/probe_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <sys/stat.h>
#include <thread>

namespace harness::session {
namespace {

// The names of the tasks whose sleeps the kprobe tracer records (sched_switch is filtered by
// comm, docs/DESIGN.md "kprobe tracer"): --exec's program (the kernel names a task after the file
// it executes), --pid's threads as they are named now; the built-in sender: none (harness's own).
std::vector<std::string> workload_comms(const RunRequest& req) {
  std::vector<std::string> comms;
  if (!req.exec.empty()) {
    const std::string& prog = req.exec.front();
    comms.push_back(prog.substr(prog.rfind('/') + 1));
  } else if (req.attach_pid) {
    const std::string task = "/proc/" + std::to_string(req.attach_pid) + "/task";
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(task, ec))
      if (auto c = read_file(t.path().string() + "/comm"); c && !c->empty())
        comms.push_back(c->substr(0, c->find('\n')));
  }
  return comms;
}

} // namespace

// Pre-flight: nothing is compiled or created before these pass.
Status Session::preflight() {
  if (!req_.preflight)
    return {};
  say("pre-flight checks");
  PreflightRequest pf;
  pf.kernel_spec = req_.kernel_spec;
  pf.build_dir = req_.build_dir;
  pf.tools = req_.tools;
  pf.artifact = req_.artifact;
  pf.backend = req_.backend;
  pf.plan = plan_in_;
  pf.iface = req_.sender.iface;
  pf.veth = req_.sender.veth;
  pf.netns_path = req_.sender.netns_path;
  pf.attach_pid = req_.attach_pid;
  pf.allow_nearest = req_.allow_nearest;
  pf.probes = probe_set_;
  auto res = run_preflight(sys_, pf, select_);
  if (const Check* f = res.first_failure())
    return std::unexpected(f->error);
  for (const auto& c : res.checks)
    if (c.state == CheckState::warn || c.state == CheckState::unknown)
      say((c.state == CheckState::warn ? "warning: " : "unknown: ") + c.name + ": " + c.error.why);
  map_ = std::move(res.map);
  if (res.tracer) {
    tracer_ = res.tracer->tracer;
    say("tracer " + res.tracer->reason);
  }
  lines_not_proven_ = res.lines_not_proven;
  return {};
}

// A bad baseline fails now, not after minutes of compiling and sending.
Status Session::load_baseline() {
  if (!req_.baseline_path)
    return {};
  auto b = report::load_report(*req_.baseline_path);
  if (!b)
    return std::unexpected(b.error());
  baseline_ = std::move(*b);
  return {};
}

Status Session::make_run_dir() {
  dir_ = req_.out_dir.empty() ? default_run_dir() : req_.out_dir;
  if (path_exists(dir_ + "/report.json") || path_exists(dir_ + "/trace.txt"))
    return fail(Exit::usage, "--out " + dir_, "already holds the files of a run",
                "choose another directory; nothing of the earlier run is overwritten");
  if (auto s = make_dirs(dir_); !s)
    return std::unexpected(s.error());
  trace_ = dir_ + "/trace.txt";
  log_ = dir_ + "/" + std::string(tracer_->log_name());
  out_.run_dir = dir_;
  return {};
}

// The probes: a prebuilt artifact and its plan (loaded by load_prebuilt), or made here for the
// selected map.
Status Session::prepare_probes() {
  if (req_.artifact.empty())
    return generate_probes();
  return probes::save_plan(probes::run_plan_path(dir_), probes_->plan);
}

// A bad prebuilt artifact or plan fails before the run directory exists: nothing is left behind.
Status Session::load_prebuilt() {
  const std::string what = std::string(tracer_->artifact_option()) + " " + req_.artifact;
  struct stat st {};
  if (::stat(req_.artifact.c_str(), &st) != 0)
    return fail(Exit::usage, what, "no such file", std::string(tracer_->artifact_hint()));
  auto p = probes::load_plan(plan_in_);
  if (!p)
    return fail(Exit::usage, "plan " + plan_in_, p.error().why,
                "give the probes' plan with --plan (`harness build` writes NAME.plan.json "
                "next to them)");
  const auto id = kernel::running_kernel_build_id();
  if (auto s = tracer_->check_artifact(req_.artifact, *p, id ? *id : ""); !s)
    return s;
  probes_ = tracer::RunProbes{std::move(*p), req_.artifact, true};
  return {};
}

Status Session::generate_probes() {
  if (!map_) {
    auto sel = select_(req_.kernel_spec == "auto" ? sys_.kernel_release() : req_.kernel_spec,
                       sys_.kernel_release(), nullptr);
    if (!sel)
      return std::unexpected(sel.error());
    map_ = std::move(*sel);
    // Issue 30, defect 12: a 6.18 kernel quietly got 6.12.117's lines and a report that named
    // "kernel 6.12.117" only.
    lines_not_proven_ = lines_not_proven_ || !map_->exact;
  }
  if (!map_->exact && !map_->note.empty())
    say(map_->note);
  tracer::HereRequest here;
  here.machine = &sys_;
  here.map = map_->entry.map;
  here.probes = probe_set_;
  here.build_dir = req_.build_dir;
  here.dir = dir_;
  here.tools = req_.tools;
  here.say = [this](std::string_view l) {
    say(std::string(l));
  };
  auto made = tracer_->prepare_here(here);
  if (!made)
    return std::unexpected(made.error());
  probes_ = std::move(*made);
  return {};
}

// The tracer's buffer for this run (trace_buffer.hpp): what --trace-buffer asked, else room for
// every record of the built-in sender's frames (or of a workload's) within free memory.
void Session::plan_buffer() {
  std::optional<std::uint64_t> frames;
  if (req_.exec.empty() && !req_.attach_pid && req_.sender.count > 0)
    frames = static_cast<std::uint64_t>(req_.sender.count);
  buffer_ =
      plan_trace_buffer(tracer_->buffer(), probes_->plan, frames, req_.trace_buffer_kb,
                        mem_available_kb(), std::max(1u, std::thread::hardware_concurrency()));
  say("trace buffer: " + buffer_.size + " per CPU, " + buffer_.why +
      "; it holds the records of about " + std::to_string(buffer_.frames_held) + " frames");
}

// The tracer, started; live only after wait_ready().
Status Session::start_tracer() {
  plan_buffer();
  tracer::StartRequest start;
  start.probes = *probes_;
  start.dir = dir_;
  start.trace_path = trace_;
  start.log_path = log_;
  start.buffer_kb = buffer_.kb_per_cpu;
  start.sleep_comms = workload_comms(req_);
  start.build_dir = req_.build_dir;
  start.tools = req_.tools;
  start.launcher = hooks_.launcher;
  start.say = [this](std::string_view l) {
    say(std::string(l));
  };
  auto session = tracer_->start(start);
  if (!session)
    return std::unexpected(session.error());
  session_ = std::move(*session);
  return {};
}

} // namespace harness::session
