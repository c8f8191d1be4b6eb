#include "run_session.hpp"

#include "build_id.hpp"
#include "cache_dir.hpp"
#include "files.hpp"
#include "generate.hpp"
#include "kernel_tree.hpp"
#include "kprobe_session.hpp"
#include "offline.hpp"
#include "perf_probe.hpp"
#include "probe_plan.hpp"
#include "report_html.hpp"
#include "report_json.hpp"
#include "send_report.hpp"
#include "sender.hpp"
#include "signals.hpp"
#include "stap_env.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>

namespace harness::run {
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

// What the installed stap needs beyond the script for the kernel it compiles for (CONTEXT.md
// §6): -P when af_packet.c was built at -O0 (probes before the prologue fault), a patched runtime
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
  if (auto version = kernel::stap_version()) {
    auto rt = kernel::runtime_for_kernel(tree.task_work_cancel_renamed,
                                         kernel::resolve_cache_dir(""), *version);
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
stap::Backend tracer_without_preflight(const RunRequest& req) {
  if (!req.module.empty())
    return stap::Backend::stap;
  if (!req.kprobe_defs.empty() || req.backend == stap::Backend::kprobe)
    return stap::Backend::kprobe;
  return stap::Backend::stap;
}

// kprobe definitions made here for the target kernel (perf probe against its vmlinux with DWARF).
Result<kprobe::KprobeBuildResult>
make_kprobe_defs(const RunRequest& req, const SystemView& sys, const stap::MapSelection& map,
                 const stap::ProbePlan& plan, const std::string& dir,
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

Result<RunOutcome> run_session(const RunRequest& req, const RunHooks& hooks) {
  RealSystem real;
  const SystemView& sys = hooks.system ? *hooks.system : real;
  auto say = [&](const std::string& s) {
    if (hooks.progress)
      hooks.progress(s);
  };
  const MapSelector select = hooks.select_map ? hooks.select_map : shipped_map_selector();
  const bool use_module = !req.module.empty();
  const bool use_defs = !req.kprobe_defs.empty();
  const std::string artifact = use_module ? req.module : req.kprobe_defs;
  const std::string plan_in =
      artifact.empty()
          ? ""
          : (req.plan_path.empty() ? stap::artifact_plan_path(artifact) : req.plan_path);

  auto probe_set = stap::parse_probe_set(req.probes);
  if (!probe_set)
    return std::unexpected(probe_set.error());

  // Pre-flight: nothing is compiled or created before these pass.
  std::optional<stap::MapSelection> map;
  stap::Backend tracer = tracer_without_preflight(req);
  bool lines_not_proven = false;
  if (req.preflight) {
    say("pre-flight checks");
    PreflightRequest pf;
    pf.kernel_spec = req.kernel_spec;
    pf.build_dir = req.build_dir;
    pf.stap = req.stap;
    pf.staprun = req.staprun;
    pf.module = req.module;
    pf.kprobe_defs = req.kprobe_defs;
    pf.backend = req.backend;
    pf.perf = req.perf;
    pf.plan = plan_in;
    pf.iface = req.sender.iface;
    pf.veth = req.sender.veth;
    pf.netns_path = req.sender.netns_path;
    pf.allow_nearest = req.allow_nearest;
    pf.probes = *probe_set;
    auto res = run_preflight(sys, pf, select);
    if (const Check* f = res.first_failure())
      return std::unexpected(f->error);
    for (const auto& c : res.checks)
      if (c.state == CheckState::warn)
        say("warning: " + c.name + ": " + c.error.why);
    map = std::move(res.map);
    if (res.tracer) {
      tracer = res.tracer->backend;
      say("tracer " + res.tracer->reason);
    }
    lines_not_proven = res.lines_not_proven;
  }
  const bool kprobes = tracer == stap::Backend::kprobe;
  const std::string tracer_name = kprobes ? "the kprobe tracer" : "stap";

  // A bad baseline fails now, not after minutes of compiling and sending.
  std::optional<report::Report> baseline;
  if (req.baseline_path) {
    auto b = report::load_report(*req.baseline_path);
    if (!b)
      return std::unexpected(b.error());
    baseline = std::move(*b);
  }

  // The run directory.
  const std::string dir = req.out_dir.empty() ? default_run_dir() : req.out_dir;
  if (path_exists(dir + "/report.json") || path_exists(dir + "/trace.txt"))
    return fail(Exit::usage, "--out " + dir, "already holds the files of a run",
                "choose another directory; nothing of the earlier run is overwritten");
  if (auto s = make_dirs(dir); !s)
    return std::unexpected(s.error());
  const std::string script = dir + "/probes.stp";
  const std::string trace = dir + "/trace.txt";
  const std::string log = dir + (kprobes ? "/kprobe.log" : "/stap.log");
  const std::string sender_json = dir + "/sender.json";

  RunOutcome out;
  out.run_dir = dir;
  std::string phase = "pre-flight";
  std::optional<stap::ProbePlan> plan;
  std::optional<kprobe::KprobeDefs> defs;
  std::optional<sender::SendReport> sent;
  std::optional<Error> failure;
  std::string partial_reason;
  std::string interrupted_in; // the phase the first interrupt arrived in
  auto watch = [&] {
    if (interrupt_requested() && interrupted_in.empty())
      interrupted_in = phase;
  };

  // Writes whatever was captured as the report, whatever happened.
  auto finish = [&]() -> Result<RunOutcome> {
    watch();
    if (interrupt_requested()) {
      out.interrupted = true;
      const std::string when = interrupted_in.empty() ? phase : interrupted_in;
      partial_reason = "interrupted by " + signal_text(interrupt_signal()) + " while " + when;
      failure = Error{Exit::interrupted, "run",
                      "interrupted by " + signal_text(interrupt_signal()) + " while " + when +
                          "; what was captured is in " + dir + " (report marked partial)",
                      ""};
    }
    if (sent) {
      if (auto s = write_file_atomic(sender_json, sender::to_json_text(*sent, 2)); !s)
        return std::unexpected(s.error());
      if (auto s = write_file_atomic(dir + "/sender.txt", sender::format_audit(*sent)); !s)
        return std::unexpected(s.error());
    }
    report::AnalyzeInputs in;
    in.plan = plan;
    in.sender = sent;
    in.partial = !partial_reason.empty();
    in.partial_reason = partial_reason;
    report::Analysis analysis(req.analyze, std::move(in));
    if (path_exists(trace))
      if (auto s = report::feed_trace_file(trace, analysis); !s)
        return std::unexpected(s.error());
    out.report = analysis.finish();
    if (lines_not_proven)
      mark_lines_not_proven(out.report, map->entry.map.release);
    out.report.run.run_dir = dir;
    if (baseline)
      out.report.comparison =
          report::compare_with_baseline(*baseline, out.report, req.baseline, *req.baseline_path);
    out.report_text = report::format_report_text(out.report);
    if (auto s = write_file_atomic(dir + "/report.txt", out.report_text); !s)
      return std::unexpected(s.error());
    if (auto s = report::write_report_json(out.report, dir + "/report.json"); !s)
      return std::unexpected(s.error());
    if (!req.json_path.empty())
      if (auto s = report::write_report_json(out.report, req.json_path); !s)
        return std::unexpected(s.error());
    for (const auto& html : {dir + "/report.html", req.html_path})
      if (!html.empty())
        if (auto s = report::write_report_html(out.report, html); !s)
          return std::unexpected(s.error());
    out.error = failure;
    return std::move(out);
  };

  if (interrupt_requested())
    return finish();

  // The probes: a prebuilt artifact and its plan, or generated here for the selected map.
  phase = "preparing the probes";
  if (!artifact.empty()) {
    if (!path_exists(artifact))
      return fail(Exit::usage, (use_module ? "--module " : "--kprobes ") + artifact, "no such file",
                  use_module ? "give the FILE.ko built by `harness build`"
                             : "give the FILE.kprobes built by `harness build --backend kprobe`");
    auto p = stap::load_plan(plan_in);
    if (!p)
      return fail(Exit::usage, "plan " + plan_in, p.error().why,
                  "give the probes' plan with --plan (`harness build` writes NAME.plan.json "
                  "next to them)");
    plan = std::move(*p);
    if (auto s = stap::save_plan(dir + "/plan.json", *plan); !s)
      return std::unexpected(s.error());
    if (use_defs) {
      auto d = kprobe::load_defs(req.kprobe_defs);
      if (!d)
        return std::unexpected(d.error());
      if (d->plan_id != plan->plan_id)
        return fail(Exit::usage, "--kprobes " + req.kprobe_defs,
                    "implements plan " + d->plan_id + ", the plan given is " + plan->plan_id,
                    "give the plan written next to the definitions");
      defs = std::move(*d);
    }
  } else {
    if (!map) {
      auto sel = select(req.kernel_spec == "auto" ? sys.kernel_release() : req.kernel_spec,
                        sys.kernel_release(), nullptr);
      if (!sel)
        return std::unexpected(sel.error());
      map = std::move(*sel);
    }
    if (!map->exact && !map->note.empty())
      say(map->note);
    auto gen = stap::generate_script(map->entry.map, *probe_set, std::nullopt);
    if (!gen)
      return std::unexpected(gen.error());
    if (kprobes) {
      auto built = make_kprobe_defs(req, sys, *map, gen->plan, dir, say);
      if (!built)
        return std::unexpected(built.error());
      plan = std::move(built->plan);
      defs = std::move(built->defs);
      if (auto s = stap::save_plan(dir + "/plan.json", *plan); !s)
        return std::unexpected(s.error());
    } else {
      if (auto s = write_file_atomic(script, gen->text); !s)
        return std::unexpected(s.error());
      if (auto s = stap::save_plan(stap::plan_path_for(script), gen->plan); !s)
        return std::unexpected(s.error());
      plan = std::move(gen->plan);
    }
  }

  // The tracer, live before anything is sent.
  phase = "starting " + tracer_name;
  std::unique_ptr<TracerSession> session;
  if (kprobes) {
    kprobe::KprobeSessionConfig kc;
    kc.defs = *defs;
    kc.plan = *plan;
    kc.trace_path = trace;
    kc.raw_path = dir + "/trace.tracefs.txt";
    kc.log_path = log;
    kc.running_build_id = running_build_id();
    kc.on_progress = say;
    say("installing " + std::to_string(defs->events.size()) + " kprobe event(s) (output: " + dir +
        ")");
    auto k = kprobe::KprobeSession::start(std::move(kc));
    if (!k)
      return std::unexpected(k.error());
    session = std::move(*k);
  } else {
    ChildSpec spec;
    if (use_module) {
      spec.exe = req.staprun;
      spec.args = req.stap_args;
      spec.args.push_back(req.module);
    } else {
      spec.exe = req.stap;
      spec.args = {"-v"};
      if (!req.build_dir.empty()) {
        spec.args.push_back("-r");
        spec.args.push_back(req.build_dir);
      }
      // Only the installed stap: another one (--stap, a test's stand-in) brings its own runtime.
      if (req.stap == "stap") {
        const auto tuning = stap_tuning(req.build_dir, say);
        spec.args.insert(spec.args.end(), tuning.begin(), tuning.end());
      }
      spec.args.insert(spec.args.end(), req.stap_args.begin(), req.stap_args.end());
      spec.args.push_back(script);
    }
    SupervisorConfig sc;
    sc.spec = spec;
    sc.trace_path = trace;
    sc.log_path = log;
    sc.on_progress = [&](const stap::StapProgress& p) {
      say(stap::format_stap_progress(p));
    };
    sc.launcher = hooks.launcher;
    say("starting " + describe_command(spec) + " (output: " + dir + ")");
    if (const char* cache = std::getenv("SYSTEMTAP_DIR"); cache && *cache && !use_module)
      say(std::string("stap's cache: SYSTEMTAP_DIR=") + cache);
    auto sup_r = StapSupervisor::start(std::move(sc));
    if (!sup_r)
      return std::unexpected(sup_r.error());
    session = std::move(*sup_r);
  }
  TracerSession& sup = *session;

  phase = "waiting for " + tracer_name + " to get ready";
  say("waiting for " + tracer_name + " to get ready (timeout " + seconds(req.ready_timeout) + ")");
  const auto t_start = Clock::now();
  if (auto ready = sup.wait_ready(req.ready_timeout); !ready) {
    watch();
    if (ready.error().code != Exit::interrupted) {
      failure = ready.error();
      partial_reason = tracer_name + " never became ready: " + ready.error().why;
    }
    say("stopping " + tracer_name);
    sup.stop(req.stop_grace);
    return finish();
  }
  say(tracer_name + " ready after " +
      seconds(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_start)) +
      "; sending");

  // The sender runs in its own thread while this one keeps draining the tracer's output: a full
  // pipe or ring buffer would drop records.
  phase = "sending";
  std::optional<Result<sender::SendReport>> send_result;
  std::atomic<bool> send_done{false};
  std::thread sender_thread([&] {
    send_result = sender::send_frames(req.sender);
    send_done = true;
  });
  std::optional<ExitStatus> stap_died;
  while (!send_done) {
    watch();
    if (auto st = sup.pump(50ms); st && !stap_died) {
      stap_died = st;
      say(tracer_name + " exited during the run (" + st->describe() +
          "); letting the sender finish");
    }
    // After the tracer died or an interrupt, wait() returns at once: do not spin while the
    // sender winds down (it sees the interrupt itself; its waits are bounded).
    if (stap_died || interrupt_requested())
      std::this_thread::sleep_for(20ms);
  }
  sender_thread.join();
  if (*send_result) {
    sent = std::move(**send_result);
  } else {
    failure = send_result->error();
    partial_reason = "the sender failed: " + send_result->error().why;
  }

  // Give the kernel's last records time to arrive: the destructor of the last frames runs after
  // the sender's send() returned; stap flushes its buffers periodically.
  if (sent && !stap_died && !interrupt_requested()) {
    phase = "waiting for the kernel to finish";
    say("sender done: " + std::to_string(sent->totals.sent) + " of " +
        std::to_string(sent->totals.requested) +
        " frames sent; waiting for the last probe records");
    const std::uint64_t want = sent->totals.queued;
    const auto deadline = Clock::now() + req.settle_timeout;
    while (!interrupt_requested() && Clock::now() < deadline) {
      watch();
      if (auto st = sup.pump(50ms)) {
        stap_died = st;
        break;
      }
      const auto quiet = Clock::now() - sup.last_output();
      if ((want > 0 && sup.completions() >= want && quiet >= 200ms) || quiet >= 1000ms)
        break;
    }
  }

  watch();
  phase = "stopping " + tracer_name;
  if (!stap_died) {
    say("stopping " + tracer_name +
        (kprobes ? " (events disabled and removed)" : " (SIGINT, then SIGTERM, then SIGKILL)"));
    const ExitStatus st = sup.stop(req.stop_grace);
    if (!sup.ended())
      partial_reason = partial_reason.empty() ? tracer_name + " stopped (" + st.describe() +
                                                    ") before its end probe ran"
                                              : partial_reason;
  } else {
    sup.stop(req.stop_grace);
    failure = sup.failure(*stap_died, "during the run");
    failure->why += "; partial report in " + dir;
    partial_reason = tracer_name + " exited during the run (" + stap_died->describe() + ")";
  }
  return finish();
}

} // namespace harness::run
