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
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_tree.hpp"
#include "kprobe/kprobe_session.hpp"
#include "kprobe/perf_probe.hpp"
#include "probes/probe_plan.hpp"
#include "sender/send_report.hpp"
#include "sender/sender.hpp"
#include "stap/generate.hpp"
#include "stap/stap_env.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sys/stat.h>
#include <sys/utsname.h>
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

// What the installed stap needs beyond the script for the kernel it compiles for
// (docs/tracing-notes.md, "Pitfalls of a cross build"): -P when af_packet.c was built at -O0
// (probes before the prologue fault), a patched runtime
// (-R) for stap 4.8's relay transport losing records and for the 6.1.y task_work_cancel rename.
// Best effort: a fact that cannot be read leaves stap's defaults.
std::vector<std::string> stap_tuning(const std::string& build_dir,
                                     const std::function<void(const std::string&)>& say) {
  std::string dir = build_dir;
  if (dir.empty()) {
    struct utsname u {};
    if (::uname(&u) != 0)
      return {};
    dir = std::string("/lib/modules/") + u.release + "/build";
  }
  const auto tree = kernel::kernel_tree_facts(dir);
  std::vector<std::string> args;
  if (auto version = stap::stap_version()) {
    auto rt = stap::runtime_for_kernel(tree.task_work_cancel_renamed, kernel::resolve_cache_dir(""),
                                       *version);
    if (!rt) {
      say("warning: " + rt.error().why + "; stap uses its installed runtime");
    } else if (!rt->path.empty()) {
      args.insert(args.end(), {"-R", rt->path});
      say(rt->note);
    }
  }
  if (tree.af_packet_O0) {
    args.push_back("-P");
    say("af_packet.c was built at -O0 (" + tree.af_packet_O0_evidence + "): stap -P");
  }
  return args;
}

// The running kernel's GNU build id (kprobe definitions are for one vmlinux); empty if unknown.
std::string running_build_id() {
  auto id = kernel::running_kernel_build_id();
  return id ? *id : std::string();
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

// --allow-nearest: the lines are a neighbouring kernel's, so the report can never say OK (an
// anomaly makes the verdict and the exit status say so; docs/report-schema.md).
void mark_lines_not_proven(report::Report& r, const std::string& map_release) {
  report::Anomaly a;
  a.kind = "lines_not_proven";
  a.message = "lines not proven: the probes sit on the lines of the nearest shipped map (" +
              map_release +
              "), not of this kernel's own af_packet.c (--allow-nearest); every anchor passed "
              "the DWARF check, but a probe may still sit on another statement";
  r.anomalies.insert(r.anomalies.begin(), std::move(a));
}

// The tracer when pre-flight did not choose one (--no-preflight): what the artifact implies, else
// what was asked for, stap for auto (its historical default).
tracer::Backend tracer_without_preflight(const RunRequest& req) {
  if (!req.module.empty())
    return tracer::Backend::stap;
  if (!req.kprobe_defs.empty() || req.backend == tracer::Backend::kprobe)
    return tracer::Backend::kprobe;
  return tracer::Backend::stap;
}

// kprobe definitions made here for the target kernel (perf probe against its vmlinux with DWARF).
Result<kprobe::KprobeBuildResult>
make_kprobe_defs(const RunRequest& req, const SystemView& sys, const probes::MapSelection& map,
                 const probes::ProbePlan& plan, const std::string& dir,
                 const std::function<void(const std::string&)>& say) {
  kprobe::KprobeBuildRequest kb;
  std::string release = sys.kernel_release();
  if (!req.build_dir.empty()) {
    auto tree = kernel::inspect_kernel_tree(req.build_dir);
    if (!tree)
      return std::unexpected(tree.error());
    kb.vmlinux = req.build_dir + "/vmlinux";
    kb.build_id = tree->build_id;
    release = tree->release;
  } else {
    auto vmlinux = find_debug_vmlinux(sys, release);
    if (!vmlinux)
      return fail(Exit::no_debuginfo, "kernel " + release, "no vmlinux with DWARF",
                  "apt-get install linux-image-" + release + "-dbg, or give -r BUILD_DIR");
    kb.vmlinux = *vmlinux;
    auto id = kernel::build_id_of_elf(*vmlinux);
    kb.build_id = id ? *id : "";
  }
  kb.release = release;
  kb.map = map.entry.map;
  kb.plan = plan;
  kb.out_dir = dir;
  kb.name = "probes";
  kb.cache_dir = kernel::resolve_cache_dir("");
  kb.perf = req.perf;
  kb.on_progress = [&say](std::string_view l) {
    say(std::string(l));
  };
  say("making kprobe definitions with `" + req.perf + " probe -k " + kb.vmlinux + " -D ...`");
  return kprobe::build_kprobe_defs(kb);
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
  ChildSpec stap_command() const;
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

  std::string artifact_, plan_in_; // a prebuilt module or kprobe definitions, and their plan
  probes::ProbeSet probe_set_{};
  std::optional<probes::MapSelection> map_;
  tracer::Backend tracer_ = tracer::Backend::stap;
  bool kprobes_ = false;
  std::string tracer_name_;
  bool lines_not_proven_ = false;
  std::optional<report::Report> baseline_;

  std::string dir_, trace_, log_;
  RunOutcome out_;
  Step step_ = Step::preflight;
  std::optional<probes::ProbePlan> plan_;
  std::optional<kprobe::KprobeDefs> defs_;
  std::unique_ptr<tracer::TracerSession> session_;
  TraceBufferPlan buffer_;
  std::unique_ptr<Pacer> pacer_; // the built-in sender with pacing (RunRequest::pace)
  std::optional<sender::SendReport> sent_;
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
  const bool use_module = !req_.module.empty();
  artifact_ = use_module ? req_.module : req_.kprobe_defs;
  plan_in_ = artifact_.empty() ? ""
                               : (req_.plan_path.empty() ? probes::artifact_plan_path(artifact_)
                                                         : req_.plan_path);
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
  if (!artifact_.empty())
    if (auto s = load_prebuilt(); !s)
      return std::unexpected(s.error());
  tracer_ = tracer_without_preflight(req_);
  if (auto s = preflight(); !s)
    return std::unexpected(s.error());
  kprobes_ = tracer_ == tracer::Backend::kprobe;
  tracer_name_ = kprobes_ ? "the kprobe tracer" : "stap";
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
  pf.stap = req_.stap;
  pf.staprun = req_.staprun;
  pf.module = req_.module;
  pf.kprobe_defs = req_.kprobe_defs;
  pf.backend = req_.backend;
  pf.perf = req_.perf;
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
    if (c.state == CheckState::warn)
      say("warning: " + c.name + ": " + c.error.why);
  map_ = std::move(res.map);
  if (res.tracer) {
    tracer_ = res.tracer->backend;
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
  log_ = dir_ + (kprobes_ ? "/kprobe.log" : "/stap.log");
  out_.run_dir = dir_;
  return {};
}

// The probes: a prebuilt artifact and its plan (loaded by load_prebuilt), or generated here for
// the selected map.
Status Session::prepare_probes() {
  if (artifact_.empty())
    return generate_probes();
  return probes::save_plan(dir_ + "/plan.json", *plan_);
}

// A bad prebuilt artifact or plan fails before the run directory exists: nothing is left behind.
Status Session::load_prebuilt() {
  const bool use_module = !req_.module.empty();
  if (!path_exists(artifact_))
    return fail(Exit::usage, (use_module ? "--module " : "--kprobes ") + artifact_, "no such file",
                use_module ? "give the FILE.ko built by `harness build`"
                           : "give the FILE.kprobes built by `harness build --backend kprobe`");
  auto p = probes::load_plan(plan_in_);
  if (!p)
    return fail(Exit::usage, "plan " + plan_in_, p.error().why,
                "give the probes' plan with --plan (`harness build` writes NAME.plan.json "
                "next to them)");
  plan_ = std::move(*p);
  if (req_.kprobe_defs.empty())
    return {};
  auto d = kprobe::load_defs(req_.kprobe_defs);
  if (!d)
    return std::unexpected(d.error());
  if (d->plan_id != plan_->plan_id)
    return fail(Exit::usage, "--kprobes " + req_.kprobe_defs,
                "implements plan " + d->plan_id + ", the plan given is " + plan_->plan_id,
                "give the plan written next to the definitions");
  if (auto s = kprobe::check_defs_kernel(*d, running_build_id()); !s)
    return s;
  defs_ = std::move(*d);
  return {};
}

Status Session::generate_probes() {
  if (!map_) {
    auto sel = select_(req_.kernel_spec == "auto" ? sys_.kernel_release() : req_.kernel_spec,
                       sys_.kernel_release(), nullptr);
    if (!sel)
      return std::unexpected(sel.error());
    map_ = std::move(*sel);
  }
  if (!map_->exact && !map_->note.empty())
    say(map_->note);
  auto gen = stap::generate_script(map_->entry.map, probe_set_, std::nullopt);
  if (!gen)
    return std::unexpected(gen.error());
  if (kprobes_) {
    auto built = make_kprobe_defs(req_, sys_, *map_, gen->plan, dir_,
                                  [this](const std::string& l) { say(l); });
    if (!built)
      return std::unexpected(built.error());
    plan_ = std::move(built->plan);
    defs_ = std::move(built->defs);
    return probes::save_plan(dir_ + "/plan.json", *plan_);
  }
  const std::string script = dir_ + "/probes.stp";
  if (auto s = write_file_atomic(script, gen->text); !s)
    return std::unexpected(s.error());
  if (auto s = probes::save_plan(probes::plan_path_for(script), gen->plan); !s)
    return std::unexpected(s.error());
  plan_ = std::move(gen->plan);
  return {};
}

// stap compiling the generated script, or staprun loading the prebuilt module.
ChildSpec Session::stap_command() const {
  ChildSpec spec;
  // The transport buffer per CPU in MB (plan_buffer): staprun -b for a prebuilt module, stap -s.
  const std::string mb = std::to_string(buffer_.mb_per_cpu);
  if (!req_.module.empty()) {
    spec.exe = req_.staprun;
    spec.args = {"-b", mb};
    spec.args.insert(spec.args.end(), req_.stap_args.begin(), req_.stap_args.end());
    spec.args.push_back(req_.module);
    return spec;
  }
  spec.exe = req_.stap;
  spec.args = {"-v", "-s", mb};
  if (!req_.build_dir.empty()) {
    spec.args.push_back("-r");
    spec.args.push_back(req_.build_dir);
  }
  // Only the installed stap: another one (--stap, a test's stand-in) brings its own runtime.
  if (req_.stap == "stap") {
    const auto tuning = stap_tuning(req_.build_dir, [this](const std::string& l) { say(l); });
    spec.args.insert(spec.args.end(), tuning.begin(), tuning.end());
  }
  spec.args.insert(spec.args.end(), req_.stap_args.begin(), req_.stap_args.end());
  spec.args.push_back(dir_ + "/probes.stp");
  return spec;
}

// The tracer's buffer for this run (trace_buffer.hpp): what --trace-buffer asked, else room for
// every record of the built-in sender's frames (or of a workload's) within free memory.
void Session::plan_buffer() {
  std::optional<std::uint64_t> frames;
  if (req_.exec.empty() && !req_.attach_pid && req_.sender.count > 0)
    frames = static_cast<std::uint64_t>(req_.sender.count);
  buffer_ = plan_trace_buffer(kprobes_ ? TracerKind::kprobe : TracerKind::stap, *plan_, frames,
                              req_.trace_buffer_kb, mem_available_kb(),
                              std::max(1u, std::thread::hardware_concurrency()));
  say("trace buffer: " +
      (kprobes_ ? std::to_string(buffer_.kb_per_cpu) + " KiB"
                : std::to_string(buffer_.mb_per_cpu) + " MiB") +
      " per CPU, " + buffer_.why + "; it holds the records of about " +
      std::to_string(buffer_.frames_held) + " frames");
}

// The tracer, started; live only after wait_ready().
Status Session::start_tracer() {
  plan_buffer();
  if (kprobes_) {
    kprobe::KprobeSessionConfig kc;
    kc.defs = *defs_;
    kc.plan = *plan_;
    kc.trace_path = trace_;
    kc.raw_path = dir_ + "/trace.tracefs.txt";
    kc.log_path = log_;
    kc.running_build_id = running_build_id();
    kc.sleep_comms = workload_comms(req_);
    kc.buffer_kb = static_cast<unsigned>(buffer_.kb_per_cpu);
    kc.on_progress = [this](std::string_view l) {
      say(std::string(l));
    };
    say("installing " + std::to_string(defs_->events.size()) + " kprobe event(s) (output: " + dir_ +
        ")");
    auto k = kprobe::KprobeSession::start(std::move(kc));
    if (!k)
      return std::unexpected(k.error());
    session_ = std::move(*k);
    return {};
  }
  stap::SupervisorConfig sc;
  sc.spec = stap_command();
  sc.trace_path = trace_;
  sc.log_path = log_;
  sc.on_progress = [this](const stap::StapProgress& p) {
    say(stap::format_stap_progress(p));
  };
  sc.launcher = hooks_.launcher;
  say("starting " + describe_command(sc.spec) + " (output: " + dir_ + ")");
  if (const char* cache = std::getenv("SYSTEMTAP_DIR"); cache && *cache && req_.module.empty())
    say(std::string("stap's cache: SYSTEMTAP_DIR=") + cache);
  auto sup = stap::StapSupervisor::start(std::move(sc));
  if (!sup)
    return std::unexpected(sup.error());
  session_ = std::move(*sup);
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
  std::optional<Result<sender::SendReport>> send_result;
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
    say("stopping " + tracer_name_ +
        (kprobes_ ? " (events disabled and removed)" : " (SIGINT, then SIGTERM, then SIGKILL)"));
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
  in.plan = plan_;
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
    mark_lines_not_proven(out_.report, map_->entry.map.release);
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
