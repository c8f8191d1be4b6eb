// run_session end to end with the real sender on a throwaway veth pair and the
// fault-injecting stand-in for stap (FAULT_STAP) in place of stap/staprun.
#include "fake_system.hpp"
#include "files.hpp"
#include "generate.hpp"
#include "map_store.hpp"
#include "report_json.hpp"
#include "run_session.hpp"
#include "run_test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

using namespace harness;
using namespace harness::run;
using namespace harness::run::testing;
using namespace std::chrono_literals;

namespace {

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
    req.stap = FAULT_STAP;
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

TEST_F(RunSession, FaultStapRunWritesEveryFileAndAReport) {
  auto out = run_session(request("ok"), hooks());
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
  // The stand-in probes nothing: the report must say so, not invent kernel phases.
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
  EXPECT_EQ(out->error->code, Exit::stap_failed);
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
  EXPECT_EQ(out->error->code, Exit::stap_timeout);
  EXPECT_EQ(out->exit_code(), static_cast<int>(Exit::stap_timeout));
}

TEST_F(RunSession, FaultStapDiesMidRun) {
  ::setenv("FAULT_STAP_DIE_MS", "50", 1);
  auto out = run_session(request("die_mid_run", 200000), hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  ASSERT_TRUE(out->error);
  EXPECT_EQ(out->error->code, Exit::stap_failed);
  EXPECT_NE(out->error->why.find("partial report in"), std::string::npos);
  EXPECT_TRUE(out->report.partial);
  EXPECT_EQ(out->report.summary.requested, 200000u) << "the sender's records are kept";
}

TEST_F(RunSession, PrebuiltModuleWithItsPlan) {
  auto maps = stap::load_shipped_maps();
  ASSERT_TRUE(maps);
  auto sel = stap::select_map(*maps, "6.1", "6.1.192");
  ASSERT_TRUE(sel);
  auto gen = stap::generate_script(sel->entry.map, stap::ProbeSet::status, std::nullopt);
  ASSERT_TRUE(gen);
  const std::string module = dir_ + "/hx_probes.ko";
  std::ofstream(module) << "not really a module: the stand-in staprun never loads it";
  ASSERT_TRUE(stap::save_plan(dir_ + "/hx_probes.plan.json", gen->plan));
  auto req = request("ok");
  req.module = module;
  req.staprun = FAULT_STAP;
  req.stap = "/nonexistent/stap"; // not used with --module
  auto out = run_session(req, hooks());
  ASSERT_TRUE(out) << format_error(out.error());
  EXPECT_TRUE(file_has(out->run_dir + "/plan.json", gen->plan.plan_id));
  EXPECT_FALSE(file_has(out->run_dir + "/probes.stp", "probe"));
  EXPECT_EQ(out->report.run.map, gen->plan.map);
}

TEST_F(RunSession, RefusesADirectoryHoldingAnEarlierRun) {
  auto req = request("ok");
  ASSERT_TRUE(run_session(req, hooks()));
  auto again = run_session(req, hooks());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Exit::usage);
  EXPECT_NE(again.error().why.find("already holds"), std::string::npos);
}

TEST_F(RunSession, PreflightFailureCreatesNothing) {
  FakeSystem sys = FakeSystem::ready();
  sys.files.erase("/proc/modules");
  auto req = request("ok");
  req.preflight = true;
  req.stap = "stap"; // the fake machine's
  RunHooks h = hooks();
  h.system = &sys;
  auto out = run_session(req, h);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::unsupported);
  EXPECT_FALSE(file_has(req.out_dir + "/stap.log", ""));
  struct stat st {};
  EXPECT_NE(::stat(req.out_dir.c_str(), &st), 0) << "no run directory before pre-flight passed";
}

TEST_F(RunSession, BadBaselineFailsBeforeAnythingRuns) {
  auto req = request("ok");
  req.baseline_path = dir_ + "/no-such-report.json";
  auto out = run_session(req, hooks());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::usage);
  EXPECT_NE(out.error().what.find("no-such-report.json"), std::string::npos);
  EXPECT_FALSE(file_has(req.out_dir + "/stap.log", ""));
}

TEST_F(RunSession, BaselineComparisonIsInTheReport) {
  auto first = run_session(request("ok"), hooks());
  ASSERT_TRUE(first) << format_error(first.error());
  auto req = request("ok");
  req.out_dir = dir_ + "/second";
  req.baseline_path = first->run_dir + "/report.json";
  auto second = run_session(req, hooks());
  ASSERT_TRUE(second) << format_error(second.error());
  ASSERT_TRUE(second->report.comparison);
  EXPECT_EQ(second->report.comparison->baseline_file, *req.baseline_path);
  EXPECT_TRUE(file_has(second->run_dir + "/report.json", "\"baseline\": {"));
  EXPECT_TRUE(file_has(second->run_dir + "/report.html", "Baseline comparison"));
}

TEST_F(RunSession, HtmlPathGetsTheSameReportAsTheRunDirectory) {
  auto req = request("ok");
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
  auto req = request("ok");
  req.kernel_spec = "5.x";
  req.preflight = true;
  req.stap = "stap"; // the fake machine's
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
  sys.verified = kernel::VerifyResult{};
  sys.programs.insert(FAULT_STAP);
  auto req = request("ok");
  req.preflight = true;
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
