// run_session end to end with the real sender on a throwaway veth pair and the
// fault-injecting stand-in for stap (FAULT_STAP) in place of stap/staprun: every test injects a
// fault (probes that stay silent, errors, hangs, deaths). A working stap runs in tests/e2e.
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/printable.hpp"
#include "base/scratch_net.hpp"
#include "fake_system.hpp"
#include "harness/report/report_json.hpp"
#include "harness/session/exec_workload.hpp"
#include "harness/session/run_session.hpp"
#include "probes/map_store.hpp"
#include "run_test_util.hpp"
#include "stap/generate.hpp"
#include "stap/stap_tracer.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <thread>

using namespace harness;
using namespace harness::session;
using namespace harness::session::testing;
using namespace std::chrono_literals;

namespace {

const std::string kHarness = std::string(HARNESS_BINARY_DIR) + "/bin/harness";

class RunSession : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (network namespace, veth, TX ring)";
    dir_ = scratch_dir("session");
    ::setenv("FAULT_STAP_PIDFILE", (dir_ + "/pids").c_str(), 1);
  }
  void TearDown() override {
    for (const char* v : {"FAULT_STAP_MODE", "FAULT_STAP_PIDFILE", "FAULT_STAP_DIE_MS"})
      ::unsetenv(v);
    for (pid_t p : pids_in(dir_ + "/pids"))
      EXPECT_FALSE(alive(p)) << "fault stap " << p << " survived";
  }

  RunRequest request(const std::string& mode, int frames = 4) {
    ::setenv("FAULT_STAP_MODE", mode.c_str(), 1);
    RunRequest req;
    req.sender.veth = true;
    req.sender.count = frames;
    req.sender.ring_frames = 8;
    req.kernel_spec = "6.1";
    req.tools.stap = FAULT_STAP;
    req.preflight = false;
    req.out_dir = dir_ + "/run";
    req.ready_timeout = 10s;
    req.settle_timeout = 2s;
    req.stop_grace = 1s;
    return req;
  }

  RunHooks hooks() {
    RunHooks h;
    h.progress = [this](std::string_view l) {
      progress_.emplace_back(l);
    };
    return h;
  }

  std::string dir_;
  std::vector<std::string> progress_;
};

} // namespace

// The stand-in's fault: probes that never fire. Every file is still written and the report says
// the kernel was never seen, instead of inventing phases.
TEST_F(RunSession, FaultStapWhoseProbesStaySilentWritesEveryFileAndSaysSo) {
  auto out = run_session(request("silent"), hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  EXPECT_FALSE(out->error) << format_error(*out->error);
  for (const char* f : {"probes.stp", "probes.stp.plan.json", "stap.log", "trace.txt",
                        "sender.json", "report.txt", "report.json", "report.html"})
    EXPECT_TRUE(file_has(out->run_dir + "/" + f, "")) << f;
  EXPECT_TRUE(file_has(out->run_dir + "/report.html", "data-seq=\"3\""));
  EXPECT_TRUE(file_has(out->run_dir + "/probes.stp", "HX1 READY"));
  EXPECT_TRUE(file_has(out->run_dir + "/trace.txt", "HX1 END"));
  const auto& r = out->report;
  EXPECT_FALSE(r.partial);
  EXPECT_EQ(r.summary.requested, 4u);
  EXPECT_EQ(r.frames.size(), 4u);
  ASSERT_FALSE(r.anomalies.empty());
  EXPECT_EQ(r.anomalies[0].kind, "no_kernel_records");
  EXPECT_EQ(out->exit_code(), 1);
  auto back = report::load_report(out->run_dir + "/report.json");
  ASSERT_TRUE(back) << format_error(back.error());
  EXPECT_EQ(back->summary.requested, 4u);
  bool passes = false, ready = false;
  for (const auto& l : progress_) {
    passes = passes || l.find("stap pass 4/5 compile") != std::string::npos;
    ready = ready || l.find("stap ready after") != std::string::npos;
  }
  EXPECT_TRUE(passes);
  EXPECT_TRUE(ready);
}

TEST_F(RunSession, FaultStapSemanticErrorStopsBeforeSendingWithAPartialReport) {
  auto out = run_session(request("semantic_error"), hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->error);
  EXPECT_EQ(out->error->code, Exit::tracer_failed);
  EXPECT_NE(out->error->why.find("stap.log"), std::string::npos);
  EXPECT_TRUE(out->report.partial);
  EXPECT_FALSE(file_has(out->run_dir + "/sender.json", "harness.sender/1"));
  EXPECT_TRUE(file_has(out->run_dir + "/report.json", "\"partial\": true"));
  EXPECT_TRUE(file_has(out->run_dir + "/report.html", "Partial report:"));
}

TEST_F(RunSession, FaultStapNeverReady) {
  auto req = request("hang_before_ready");
  req.ready_timeout = 500ms;
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->error);
  EXPECT_EQ(out->error->code, Exit::tracer_timeout);
  EXPECT_EQ(out->exit_code(), static_cast<int>(Exit::tracer_timeout));
}

TEST_F(RunSession, FaultStapDiesMidRun) {
  ::setenv("FAULT_STAP_DIE_MS", "50", 1);
  auto out = run_session(request("die_mid_run", 200000), hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->error);
  EXPECT_EQ(out->error->code, Exit::tracer_failed);
  EXPECT_NE(out->error->why.find("partial report in"), std::string::npos);
  EXPECT_TRUE(out->report.partial);
  EXPECT_EQ(out->report.summary.requested, 200000u) << "the sender's records are kept";
}

// --module with its plan, and a staprun stand-in whose probes never fire: the report names
// every always-firing probe of the plan with its line as possible line drift.
TEST_F(RunSession, PrebuiltModuleWhoseProbesStaySilentNamesThePlansLines) {
  auto maps = probes::load_shipped_maps();
  ASSERT_TRUE(maps);
  auto sel = probes::select_map(*maps, "6.1", "6.1.192");
  ASSERT_TRUE(sel);
  auto gen = stap::generate_script(sel->entry.map, probes::ProbeSet::status, std::nullopt);
  ASSERT_TRUE(gen);
  const std::string module = dir_ + "/hx_probes.ko";
  std::ofstream(module) << "not really a module: the stand-in staprun never loads it";
  ASSERT_TRUE(probes::save_plan(dir_ + "/hx_probes.plan.json", gen->plan));
  auto req = request("silent");
  req.backend = &stap::stap_tracer();
  req.artifact = module;
  req.tools.staprun = FAULT_STAP;
  req.tools.stap = "/nonexistent/stap"; // not used with --module
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  EXPECT_TRUE(file_has(out->run_dir + "/plan.json", gen->plan.plan_id));
  EXPECT_FALSE(file_has(out->run_dir + "/probes.stp", "probe"));
  EXPECT_EQ(out->report.run.map, gen->plan.map);
  const auto* len_sum = gen->plan.find("snd.len_sum");
  ASSERT_NE(len_sum, nullptr);
  bool named = false;
  for (const auto& a : out->report.anomalies)
    if (a.kind == "probe_never_fired" && a.anchor == "snd.len_sum") {
      named = true;
      EXPECT_EQ(a.line, len_sum->line);
      EXPECT_EQ(a.message, "probe never fired: possible line drift at anchor snd.len_sum (line " +
                               std::to_string(len_sum->line) + "): run `harness drift`");
    }
  EXPECT_TRUE(named);
  EXPECT_EQ(out->exit_code(), 1);
}

TEST_F(RunSession, RefusesADirectoryHoldingAnEarlierRun) {
  auto req = request("silent");
  ASSERT_TRUE(run_session(req, hooks()));
  auto again = run_session(req, hooks());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Exit::usage);
  EXPECT_NE(again.error().why.find("already holds"), std::string::npos);
}

TEST_F(RunSession, PreflightFailureCreatesNothing) {
  FakeSystem sys = FakeSystem::ready();
  sys.files.erase("/proc/modules");
  auto req = request("silent");
  req.preflight = true;
  req.tools.stap = "stap"; // the fake machine's
  RunHooks h = hooks();
  h.system = &sys;
  auto out = run_session(req, h);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::unsupported);
  EXPECT_FALSE(file_has(req.out_dir + "/stap.log", ""));
  struct stat st {};
  EXPECT_NE(::stat(req.out_dir.c_str(), &st), 0) << "no run directory before pre-flight passed";
}

// A bad file of the user's is bad input on any machine: it is named before pre-flight, which on
// a machine without module loading or kprobes sends the user to a VM, where only then the file
// would be refused (issue 12).
TEST_F(RunSession, BadInputFilesAreNamedBeforePreflight) {
  FakeSystem sys = FakeSystem::ready();
  sys.files.erase("/proc/modules"); // pre-flight fails here: exit 11
  ASSERT_TRUE(write_file_atomic(dir_ + "/junk.json", "{\"schema\": \"harness.report/1\""));
  ASSERT_TRUE(write_file_atomic(dir_ + "/junk.ko", "not a module"));
  RunHooks h = hooks();
  h.system = &sys;
  auto req = request("silent");
  req.preflight = true;
  req.tools.stap = "stap";
  req.baseline_path = dir_ + "/junk.json";
  auto out = run_session(req, h);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::usage) << format_error(out.error());
  EXPECT_NE(out.error().what.find("junk.json"), std::string::npos) << format_error(out.error());
  req.baseline_path.reset();
  req.backend = &stap::stap_tracer();
  req.artifact = dir_ + "/junk.ko"; // its plan junk.plan.json is missing
  out = run_session(req, h);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::usage) << format_error(out.error());
  EXPECT_NE(out.error().what.find("junk.plan.json"), std::string::npos)
      << format_error(out.error());
  struct stat st {};
  EXPECT_NE(::stat(req.out_dir.c_str(), &st), 0);
}

TEST_F(RunSession, BadBaselineFailsBeforeAnythingRuns) {
  auto req = request("silent");
  req.baseline_path = dir_ + "/no-such-report.json";
  auto out = run_session(req, hooks());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::usage);
  EXPECT_NE(out.error().what.find("no-such-report.json"), std::string::npos);
  EXPECT_FALSE(file_has(req.out_dir + "/stap.log", ""));
}

// A baseline from a real capture (harness report on tests/fixtures/traces), and a run whose
// probes stay silent: the phases the baseline saw are regressions in the report.
TEST_F(RunSession, SilentProbesAreRegressionsAgainstARealBaseline) {
  const std::string cap =
      std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/6.1.192-O0-v2-2frames-ring8-run";
  const std::string baseline = dir_ + "/baseline.json";
  auto rep =
      run_captured({.exe = kHarness,
                    .args = {"report", "--trace", cap + ".trace", "--sender", cap + ".sender.json",
                             "--plan", cap + ".plan.json", "--json", baseline}},
                   std::chrono::hours(1));
  ASSERT_TRUE(rep);
  ASSERT_TRUE(file_has(baseline, "harness.report/1")) << rep->err;
  auto req = request("silent");
  req.baseline_path = baseline;
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->report.comparison);
  EXPECT_EQ(out->report.comparison->baseline_file, baseline);
  std::vector<std::string> what;
  for (const auto& g : out->report.comparison->regressions)
    what.push_back(g.what);
  for (const char* p : {"phase sending", "phase available"})
    EXPECT_NE(std::find(what.begin(), what.end(), p), what.end()) << p;
  EXPECT_TRUE(file_has(out->run_dir + "/report.json", "\"baseline\": {"));
  EXPECT_TRUE(file_has(out->run_dir + "/report.html", "Baseline comparison"));
  EXPECT_EQ(out->exit_code(), 1);
}

TEST_F(RunSession, HtmlPathGetsTheSameReportAsTheRunDirectory) {
  auto req = request("silent");
  req.html_path = dir_ + "/elsewhere.html";
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  auto copy = read_file(req.html_path);
  auto in_dir = read_file(out->run_dir + "/report.html");
  ASSERT_TRUE(copy && in_dir);
  EXPECT_EQ(*copy, *in_dir);
}

// `run --kernel 5.x` with no 5.x source anywhere stops at pre-flight, before anything is
// compiled or created, naming what was tried and how to get the source (issue 16).
TEST_F(RunSession, NoExactSourceStopsAtPreflight) {
  FakeSystem sys = FakeSystem::ready();
  sys.running_source.reset();
  auto req = request("silent");
  req.kernel_spec = "5.x";
  req.preflight = true;
  req.tools.stap = "stap"; // the fake machine's
  RunHooks h = hooks();
  h.system = &sys;
  auto out = run_session(req, h);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::no_map);
  EXPECT_NE(out.error().what.find("5.x"), std::string::npos) << out.error().what;
  EXPECT_NE(out.error().why.find("tried"), std::string::npos) << out.error().why;
  EXPECT_NE(out.error().hint.find("DEBUGINFOD_URLS"), std::string::npos) << out.error().hint;
  struct stat st {};
  EXPECT_NE(::stat(req.out_dir.c_str(), &st), 0) << "no run directory before pre-flight passed";
}

// --allow-nearest: the run happens once the DWARF check passed, and its report says "lines not
// proven" and never OK.
TEST_F(RunSession, AllowNearestReportIsMarkedAndNeverOk) {
  FakeSystem sys = FakeSystem::ready();
  sys.running_source.reset();
  sys.verified = stap::VerifyResult{};
  sys.programs.insert(FAULT_STAP);
  auto req = request("silent");
  req.preflight = true;
  req.backend = &stap::stap_tracer();
  req.allow_nearest = true;
  RunHooks h = hooks();
  h.system = &sys;
  auto out = run_session(req, h);
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_FALSE(out->report.anomalies.empty());
  EXPECT_EQ(out->report.anomalies.front().kind, "lines_not_proven");
  EXPECT_EQ(out->exit_code(), 1);
  EXPECT_NE(out->report_text.find("lines not proven"), std::string::npos) << out->report_text;
  EXPECT_EQ(out->report_text.find("OK, every frame"), std::string::npos) << out->report_text;
  EXPECT_TRUE(file_has(out->run_dir + "/report.json", "lines_not_proven"));
}

// --no-preflight on a kernel no shipped map is for (issue 30, defect 12): the nearest map's lines
// are used, and the report says they are not proven instead of only naming the other release.
TEST_F(RunSession, NoPreflightOnAnotherKernelSaysTheLinesAreNotProven) {
  auto req = request("silent");
  req.kernel_spec = "6.18";
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_FALSE(out->report.anomalies.empty());
  EXPECT_EQ(out->report.anomalies.front().kind, "lines_not_proven");
  EXPECT_NE(out->report.anomalies.front().message.find("--no-preflight"), std::string::npos)
      << out->report.anomalies.front().message;
  EXPECT_EQ(out->exit_code(), 1);
  // The release the map is for: no mark.
  req.kernel_spec = "6.1";
  req.out_dir = dir_ + "/run-6.1";
  out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  for (const auto& a : out->report.anomalies)
    EXPECT_NE(a.kind, "lines_not_proven");
}

// --exec: a program of the user's own is the workload. The stand-in's probes stay silent, so
// the report has no frame; what is checked here is the program's side: {iface} replaced by the
// veth end it runs on, inside the scratch namespace, its output in the run directory and the
// report, its exit status passed through, and the namespace gone afterwards.
TEST_F(RunSession, ExecRunsTheProgramInTheScratchNamespaceAndKeepsItsOutput) {
  auto req = request("silent");
  req.exec = {"/usr/bin/printf", "first\\nlast on %s\\n", "{iface}"};
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->report.workload);
  const auto& w = *out->report.workload;
  ASSERT_EQ(w.argv.size(), 3u);
  EXPECT_TRUE(w.argv[2].starts_with("hx")) << w.argv[2];
  EXPECT_EQ(w.iface, w.argv[2]);
  EXPECT_TRUE(w.netns.starts_with("hx-")) << w.netns;
  EXPECT_FALSE(netns_exists(w.netns));
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.exit_code, 0);
  EXPECT_EQ(w.stdout_tail, (std::vector<std::string>{"first", "last on " + w.iface}));
  EXPECT_TRUE(file_has(out->run_dir + "/workload.stdout", "first\nlast on " + w.iface + "\n"));
  EXPECT_FALSE(file_has(out->run_dir + "/sender.json", ""));
  EXPECT_NE(out->report_text.find("stdout| last on " + w.iface), std::string::npos);
  EXPECT_TRUE(file_has(out->run_dir + "/report.html", "last on " + w.iface + "\n</pre>"));
  EXPECT_TRUE(file_has(out->run_dir + "/report.html", "exit status 0"));
  // No TX ring frame of its process was seen: that is a finding, not an OK.
  ASSERT_EQ(out->report.anomalies.size(), 1u);
  EXPECT_EQ(out->report.anomalies[0].kind, "no_kernel_records");
  auto back = report::load_report(out->run_dir + "/report.json");
  ASSERT_TRUE(back) << format_error(back.error());
  ASSERT_TRUE(back->workload);
  EXPECT_EQ(back->workload->argv, w.argv);
  EXPECT_EQ(back->workload->stdout_tail, w.stdout_tail);
}

// What the program prints and, with --pid, a foreign process's /proc cmdline reach the report:
// no terminal escape gets through, no line is longer than harness reads back (issue 12), so
// report.json still loads as a baseline.
TEST_F(RunSession, ExecOutputWithEscapesAndLongLinesIsPrintableAndLoadsBack) {
  auto req = request("silent");
  req.exec = {"/bin/sh", "-c",
              "printf '\\033]0;pwned\\007\\033[31mred\\n'; head -c 100000 /dev/zero | tr "
              "'\\0' x; echo",
              "\x1b[2Jname"};
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->report.workload);
  const auto& w = *out->report.workload;
  ASSERT_EQ(w.stdout_tail.size(), 2u);
  EXPECT_EQ(w.stdout_tail[0], "?]0;pwned??[31mred");
  EXPECT_LE(w.stdout_tail[1].size(), kMaxDataString);
  EXPECT_EQ(out->report_text.find('\x1b'), std::string::npos);
  EXPECT_EQ(out->report_text.find('\a'), std::string::npos);
  for (const auto& a : w.argv)
    EXPECT_EQ(a.find('\x1b'), std::string::npos) << a;
  EXPECT_TRUE(file_has(out->run_dir + "/workload.stdout", "\x1b[31mred")); // the file: as printed
  auto back = report::load_report(out->run_dir + "/report.json");
  ASSERT_TRUE(back) << format_error(back.error());
  ASSERT_TRUE(back->workload);
  EXPECT_EQ(back->workload->stdout_tail, w.stdout_tail);
}

TEST_F(RunSession, PidOfAProcessNamedWithEscapesIsDescribedPrintably) {
  ChildSpec spec;
  spec.exe = "/bin/sh";
  spec.args = {"-c", "sleep 30; :", "\x1b]0;pwned\a" + std::string(10000, 'x')};
  auto child = spawn(spec);
  ASSERT_TRUE(child) << format_error(child.error());
  auto w = describe_process(static_cast<std::uint32_t>((*child)->pid()));
  (*child)->terminate(std::chrono::milliseconds(100));
  ASSERT_TRUE(w) << format_error(w.error());
  ASSERT_EQ(w->argv.size(), 4u);
  EXPECT_TRUE(w->argv[3].starts_with("?]0;pwned?x")) << w->argv[3].substr(0, 20);
  EXPECT_LE(w->argv[3].size(), kMaxDataString);
}

TEST_F(RunSession, ExecProgramThatFailsIsAFindingWithItsStatus) {
  auto req = request("silent");
  req.exec = {"/bin/false"};
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->report.workload);
  EXPECT_EQ(out->report.workload->exit_code, 1);
  EXPECT_EQ(out->exit_code(), 1);
  bool failed = false;
  for (const auto& a : out->report.anomalies)
    failed = failed ||
             (a.kind == "workload_failed" && a.message.find("exit status 1") != std::string::npos);
  EXPECT_TRUE(failed);
}

// A program that is not there fails before anything is made (issue 12); one that is there but
// cannot be executed (its interpreter is missing) fails at its start, with a partial report.
TEST_F(RunSession, ExecProgramThatCannotStartIsAnErrorWithAPartialReport) {
  auto req = request("silent");
  req.exec = {dir_ + "/no-such-program"};
  auto early = run_session(req, hooks());
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Exit::usage);
  EXPECT_NE(format_error(early.error()).find("no-such-program"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(req.out_dir)) << "a run directory for a missing program";

  ASSERT_TRUE(write_file_atomic(dir_ + "/bad-interpreter", "#!/no/such/interpreter\n"));
  ASSERT_EQ(::chmod((dir_ + "/bad-interpreter").c_str(), 0755), 0);
  req.exec = {dir_ + "/bad-interpreter"};
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->error);
  EXPECT_NE(format_error(*out->error).find("bad-interpreter"), std::string::npos)
      << format_error(*out->error);
  EXPECT_TRUE(out->report.partial);
  EXPECT_TRUE(file_has(out->run_dir + "/report.json", ""));
}

// --pid: attached to a process harness did not start, until it ends; the report names it by
// its /proc cmdline and, not being its parent, claims no exit status.
TEST_F(RunSession, PidAttachesUntilTheProgramEnds) {
  ChildSpec spec;
  spec.exe = "sleep";
  spec.args = {"1"};
  auto child = spawn(spec);
  ASSERT_TRUE(child) << format_error(child.error());
  auto req = request("silent");
  req.sender = {};
  req.attach_pid = static_cast<std::uint32_t>((*child)->pid());
  req.duration = 60s; // a bound for a broken test only: the program ends after 1 s
  std::thread reaper([&] { (*child)->wait(30s); }); // so it does not stay a zombie of ours
  auto out = run_session(req, hooks());
  reaper.join();
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->report.workload);
  const auto& w = *out->report.workload;
  EXPECT_TRUE(w.attached);
  EXPECT_TRUE(w.exited);
  EXPECT_EQ(w.argv, (std::vector<std::string>{*find_program("sleep"), "1"}));
  EXPECT_FALSE(out->report.partial);
  EXPECT_FALSE(out->error);
  for (const auto& a : out->report.anomalies)
    EXPECT_NE(a.kind, "workload_failed");
  EXPECT_NE(out->report_text.find("attached; it ended during the run"), std::string::npos)
      << out->report_text;
}

// --duration: the attached run ends on time while the program goes on.
TEST_F(RunSession, PidDetachesAfterTheDuration) {
  ChildSpec spec;
  spec.exe = "sleep";
  spec.args = {"30"};
  auto child = spawn(spec);
  ASSERT_TRUE(child) << format_error(child.error());
  auto req = request("silent");
  req.sender = {};
  req.attach_pid = static_cast<std::uint32_t>((*child)->pid());
  req.duration = 500ms;
  auto out = run_session(req, hooks());
  const bool still_running = alive((*child)->pid());
  (*child)->terminate(1s);
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->report.workload);
  EXPECT_FALSE(out->report.workload->exited);
  EXPECT_TRUE(still_running);
}

TEST_F(RunSession, PidOfNoProcessFailsBeforeAnythingIsMade) {
  auto req = request("silent");
  req.sender = {};
  req.attach_pid = 0x3fffffff; // above pid_max
  auto out = run_session(req, hooks());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().why, "no such process");
  EXPECT_FALSE(file_has(dir_ + "/run/report.json", ""));
}
