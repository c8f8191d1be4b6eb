#include "harness/session/run_session.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/report/offline.hpp"
#include "harness/report/report_html.hpp"
#include "harness/report/report_json.hpp"
#include "harness/report/workload.hpp"
#include "harness/session/exec_workload.hpp"
#include "harness/session/trace_buffer.hpp"
#include "kernel/build_id.hpp"
#include "probes/probe_plan.hpp"
#include "sender/send_audit.hpp"
#include "sender/send_record_json.hpp"
#include "sender/sender.hpp"
#include "tracers/tracers.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace harness::session {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string signal_text(int sig) {
  const char* a = ::sigabbrev_np(sig);
  return a ? std::string("SIG") + a : "signal " + std::to_string(sig);
}

bool path_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string seconds(std::chrono::milliseconds ms) {
  return std::to_string(ms.count() / 1000) +
         (ms.count() % 1000 ? "." + std::to_string(ms.count() % 1000 / 100) : "") + " s";
}

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

namespace {

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

// False when the tracer never got ready: it is stopped and the run ends there.
bool Session::wait_ready() {
  say("waiting for " + tracer_name_ + " to get ready (timeout " + seconds(req_.ready_timeout) +
      ")");
  const auto t_start = Clock::now();
  if (auto ready = session_->wait_ready(req_.ready_timeout); !ready) {
    watch();
    if (ready.error().code != Exit::interrupted) {
      failure_ = ready.error();
      partial_reason_ = tracer_name_ + " never became ready: " + ready.error().why;
    }
    say("stopping " + tracer_name_);
    session_->stop(req_.stop_grace);
    return false;
  }
  say(tracer_name_ + " ready after " +
      seconds(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_start)) +
      (req_.attach_pid     ? "; attached"
       : req_.exec.empty() ? "; sending"
                           : "; starting the workload"));
  return true;
}

void Session::run_workload() {
  if (req_.attach_pid)
    attach_program();
  else if (req_.exec.empty())
    send_builtin();
  else
    run_program();
}

// --pid: the probes watch a program harness did not start, until it ends, --duration passes or
// Ctrl-C, which is the normal end here (a SIGTERM still interrupts the run).
void Session::attach_program() {
  auto p = describe_process(req_.attach_pid);
  if (!p) {
    failure_ = p.error();
    partial_reason_ = "the program to attach to is gone: " + p.error().why;
    return;
  }
  attached_ = std::move(*p);
  const std::string who = "pid " + std::to_string(attached_->pid);
  say("attached to " + who + " (" + attached_->argv.front() + ") until Ctrl-C" +
      (req_.duration ? ", --duration " + seconds(*req_.duration) : "") + " or its end");
  const auto t0 = Clock::now();
  for (;;) {
    if (interrupt_signal() == SIGINT) {
      clear_interrupt();
      say("Ctrl-C: detaching from " + who);
      break;
    }
    if (interrupt_requested() || tracer_died_ || duration_over(t0))
      break;
    if (!process_alive(attached_->pid)) {
      attached_->exited = true;
      say(who + " ended");
      break;
    }
    pump_tracer(who);
  }
}

// One slice of moving the tracer's output while the workload runs; notes a tracer that died.
void Session::pump_tracer(const std::string& what_continues) {
  watch();
  auto st = session_->pump(50ms);
  if (pacer_)
    pacer_->note(session_->completions(), session_->last_output());
  if (st && !tracer_died_) {
    tracer_died_ = st;
    say(tracer_name_ + " exited during the run (" + st->describe() + "); letting " +
        what_continues + " finish");
  }
}

// --exec: the program runs as a child of this thread, which alternates between its output and
// the tracer's. It is stopped only on an interrupt; a tracer that dies lets it finish.
void Session::run_program() {
  ExecRequest er;
  er.argv = req_.exec;
  er.iface = req_.sender.iface;
  er.veth = req_.sender.veth;
  er.netns_path = req_.sender.netns_path;
  er.dir = dir_;
  auto w = ExecWorkload::start(er);
  if (!w) {
    failure_ = w.error();
    partial_reason_ = "the workload could not start: " + w.error().why;
    return;
  }
  program_ = std::move(*w);
  const auto info = program_->info();
  std::string cmd;
  for (const auto& a : info.argv)
    cmd += (cmd.empty() ? "" : " ") + a;
  say("running " + cmd + " (pid " + std::to_string(info.pid) +
      (info.iface.empty() ? "" : ", interface " + info.iface) +
      (info.netns.empty() ? "" : ", network namespace " + info.netns) + ")");
  const auto t0 = Clock::now();
  while (!program_->poll(10ms)) {
    if (interrupt_requested()) {
      program_->stop(req_.stop_grace);
      break;
    }
    if (duration_over(t0)) {
      say("--duration " + seconds(*req_.duration) + " is over: stopping the workload");
      program_->stop(req_.stop_grace);
      break;
    }
    pump_tracer("the workload");
    if (tracer_died_)
      std::this_thread::sleep_for(20ms);
  }
}

// The sender runs in its own thread while this one keeps draining the tracer's output: a full
// pipe or ring buffer would drop records.
void Session::send_builtin() {
  std::optional<Result<sender::SenderRecord>> send_result;
  std::atomic<bool> send_done{false};
  sender::SenderConfig config = req_.sender;
  // Fault injection for the tests of lost records (docs/DESIGN.md "Lost records"): the tracer's
  // output is not read while the sender runs, as a reader starved of CPU would not read it.
  const char* stall_env = std::getenv("HARNESS_FAULT_STALL_TRACER");
  const bool stall = stall_env && std::string(stall_env) == "1";
  if (stall)
    say("fault injection (HARNESS_FAULT_STALL_TRACER=1): " + tracer_name_ +
        "'s output is not read until the sender is done");
  if (req_.pace && !stall) {
    // At most nine tenths of what the buffer holds ahead of the records delivered; a buffer that
    // holds the whole run never makes the sender wait; a tracer quiet for 250 ms has nothing
    // left to deliver (trace_buffer.hpp).
    const std::uint64_t held = buffer_.frames_held;
    const bool holds_run =
        req_.sender.count > 0 && held >= static_cast<std::uint64_t>(req_.sender.count);
    pacer_ = std::make_unique<Pacer>(
        holds_run ? UINT64_MAX : std::max<std::uint64_t>(held - held / 10, 1), 250ms);
    pacer_->note(session_->completions(), session_->last_output());
    config.before_send = [p = pacer_.get()](std::uint64_t queued) {
      p->wait(queued);
    };
  }
  std::thread sender_thread([&] {
    send_result = sender::send_frames(config);
    send_done = true;
  });
  while (!send_done) {
    if (stall) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    pump_tracer("the sender");
    // After the tracer died or an interrupt, wait() returns at once: do not spin while the
    // sender winds down (it sees the interrupt itself; its waits are bounded).
    if (tracer_died_ || interrupt_requested())
      std::this_thread::sleep_for(20ms);
  }
  sender_thread.join();
  if (pacer_ && pacer_->waits() > 0)
    say("paced: the sender waited " + std::to_string(pacer_->waits()) + " time(s), " +
        std::to_string(pacer_->waited().count()) + " ms in all, for " + tracer_name_ +
        " to catch up");
  if (*send_result) {
    sent_ = std::move(**send_result);
  } else {
    failure_ = send_result->error();
    partial_reason_ = "the sender failed: " + send_result->error().why;
  }
}

// Gives the kernel's last records time to arrive: the destructor of the last frames runs after
// the sender's send() returned; stap flushes its buffers periodically.
void Session::settle() {
  if ((!sent_ && !program_ && !attached_) || tracer_died_ || interrupt_requested())
    return;
  step_ = Step::settling;
  if (sent_)
    say("sender done: " + std::to_string(sent_->totals.sent) + " of " +
        std::to_string(sent_->totals.requested) +
        " frames sent; waiting for the last probe records");
  else
    say("workload: " + report::workload_end_text(program_ ? program_->info() : *attached_) +
        "; waiting for the last probe records");
  // A program's frame count is not known: its last records are in once the tracer is quiet.
  const std::uint64_t want = sent_ ? sent_->totals.queued : 0;
  const auto deadline = Clock::now() + req_.settle_timeout;
  while (!interrupt_requested() && Clock::now() < deadline) {
    watch();
    if (auto st = session_->pump(50ms)) {
      tracer_died_ = st;
      break;
    }
    const auto quiet = Clock::now() - session_->last_output();
    if ((want > 0 && session_->completions() >= want && quiet >= 200ms) || quiet >= 1000ms)
      break;
  }
}

void Session::stop_tracer() {
  tracer::TracerSession& sup = *session_;
  if (!tracer_died_) {
    say("stopping " + tracer_name_ + " (" + std::string(tracer_->stop_text()) + ")");
    const ExitStatus st = sup.stop(req_.stop_grace);
    if (!sup.ended() && partial_reason_.empty())
      partial_reason_ = tracer_name_ + " stopped (" + st.describe() + ") before its end probe ran";
    return;
  }
  sup.stop(req_.stop_grace);
  failure_ = sup.failure(*tracer_died_, "during the run");
  failure_->why += "; partial report in " + dir_;
  partial_reason_ = tracer_name_ + " exited during the run (" + tracer_died_->describe() + ")";
}

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

} // namespace

Result<RunOutcome> run_session(const RunRequest& req, const RunHooks& hooks) {
  Session session(req, hooks);
  return session.run();
}

} // namespace harness::session
