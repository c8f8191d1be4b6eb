// SIGINT and SIGTERM delivered to the real `harness run` binary in each phase: no child
// process, network namespace or veth is left behind and a partial report is written. stap is
// replaced by the fault-injecting stand-in (FAULT_STAP) through `--stap`.
#include "base/child_proc.hpp"
#include "run_test_util.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <mutex>
#include <regex>
#include <signal.h>
#include <sstream>
#include <thread>

using namespace harness;
using namespace harness::session::testing;
using namespace std::chrono_literals;

namespace {

const std::string kHarness = std::string(HARNESS_BINARY_DIR) + "/bin/harness";

struct Phase {
  std::string name;               // as the partial reason says it
  std::string mode;               // fault stap behaviour
  std::string marker;             // harness progress line after which the signal is sent
  std::string frames;             // --frames
  std::vector<std::string> extra; // more `harness run` options
  std::vector<std::pair<std::string, std::string>> env;
};

std::string run_capture(std::vector<std::string> argv) {
  auto r = run_captured(ChildSpec{.exe = argv[0], .args = {argv.begin() + 1, argv.end()}}, 10s);
  return r ? r->out : std::string();
}

struct SignalRun {
  int exit = -1;
  std::string err;
  pid_t pid = 0;
  std::string dir;
};

SignalRun run_and_signal(const Phase& ph, int sig) {
  SignalRun res;
  res.dir = scratch_dir(ph.mode);
  const std::string out = res.dir + "/run";
  std::vector<std::string> args = {"run",
                                   "--veth",
                                   "--frames",
                                   ph.frames,
                                   "--ring-frames",
                                   "8",
                                   "--kernel",
                                   "6.1",
                                   "--stap",
                                   FAULT_STAP,
                                   "--no-preflight",
                                   "--out",
                                   out,
                                   "--ready-timeout",
                                   "60",
                                   "--settle-timeout",
                                   "60"};
  args.insert(args.end(), ph.extra.begin(), ph.extra.end());
  auto env = ph.env;
  env.emplace_back("FAULT_STAP_MODE", ph.mode);
  env.emplace_back("FAULT_STAP_PIDFILE", res.dir + "/pids");
  std::mutex m;
  std::string err;
  std::atomic<bool> seen{false};
  auto child = spawn(ChildSpec{.exe = kHarness,
                               .args = args,
                               .env = env,
                               .on_stdout = [](std::string_view) {},
                               .on_stderr =
                                   [&](std::string_view l) {
                                     std::lock_guard lock(m);
                                     err.append(l).push_back('\n');
                                     if (l.find(ph.marker) != std::string_view::npos)
                                       seen = true;
                                   }});
  EXPECT_TRUE(child);
  if (!child)
    return res;
  res.pid = (*child)->pid();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::optional<ExitStatus> st;
  while (!seen && !st && std::chrono::steady_clock::now() < deadline)
    st = (*child)->wait(20ms);
  EXPECT_TRUE(seen) << "never reached \"" << ph.marker << "\":\n" << err;
  if (!st) {
    (*child)->wait(300ms); // well inside the phase
    ::kill(res.pid, sig);  // to harness only, as a terminal's Ctrl-C would reach it
    st = (*child)->wait(60s);
  }
  EXPECT_TRUE(st) << "harness did not stop after the signal";
  if (!st)
    st = (*child)->terminate(1s);
  res.exit = st->signal ? 128 + st->signal : st->code;
  res.err = err;
  return res;
}

} // namespace

class RunSignals : public ::testing::TestWithParam<std::tuple<int, int>> {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (network namespace, veth, TX ring)";
  }
};

const std::vector<Phase>& phases() {
  static const std::vector<Phase> p = [] {
    std::vector<Phase> v(4);
    v[0] = {"waiting for stap to get ready",
            "hang_before_ready",
            "waiting for stap to get ready",
            "4",
            {},
            {}};
    v[1] = {"sending", "silent", "; sending", "5000000", {}, {}};
    v[2] = {"waiting for the kernel to finish",
            "trickle",
            "waiting for the last probe records",
            "4",
            {},
            {}};
    v[3] = {"stopping stap", "ignore_sigint", "stopping stap", "4", {}, {}};
    v[3].extra = {std::string("--stop-grace"), std::string("2")};
    v[3].env = {{"FAULT_STAP_IGNORE_TERM", "1"}, {"FAULT_STAP_HELPER", "1"}};
    return v;
  }();
  return p;
}

TEST_P(RunSignals, LeavesNothingBehindAndWritesAPartialReport) {
  const auto [phase_index, sig] = GetParam();
  const Phase& ph = phases()[static_cast<std::size_t>(phase_index)];
  const SignalRun r = run_and_signal(ph, sig);
  SCOPED_TRACE(r.err);
  EXPECT_EQ(r.exit, 130);
  const std::string report = r.dir + "/run/report.json";
  EXPECT_TRUE(file_has(report, "\"partial\": true"));
  EXPECT_TRUE(file_has(report, "interrupted by " +
                                   std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " while " +
                                   ph.name))
      << report;
  EXPECT_TRUE(file_has(r.dir + "/run/report.txt", "PARTIAL REPORT"));
  EXPECT_NE(r.err.find("harness: run: interrupted by"), std::string::npos);
  for (pid_t p : pids_in(r.dir + "/pids"))
    EXPECT_FALSE(alive(p)) << "fault stap process " << p << " survived";
  const std::string tag = "hx-" + std::to_string(r.pid) + "-";
  EXPECT_EQ(run_capture({"ip", "netns", "list"}).find(tag), std::string::npos)
      << "network namespace " << tag << "* left behind";
  const std::string veth = "hx" + std::to_string(r.pid % 1000000) + "_";
  EXPECT_EQ(run_capture({"ip", "-o", "link", "show"}).find(veth), std::string::npos)
      << "veth " << veth << "* left behind";
}

std::string phase_signal_name(const ::testing::TestParamInfo<std::tuple<int, int>>& p) {
  static const std::array<const char*, 4> kNames = {"Ready", "Sending", "Settling", "Stopping"};
  return std::string(kNames[static_cast<std::size_t>(std::get<0>(p.param))]) +
         (std::get<1>(p.param) == SIGINT ? "Sigint" : "Sigterm");
}

INSTANTIATE_TEST_SUITE_P(EveryPhase, RunSignals,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3),
                                            ::testing::Values(SIGINT, SIGTERM)),
                         phase_signal_name);

TEST(RunBinary, RealStapOnThisHostFailsCleanlyInPreflight) {
  // No module loading and no kprobes here: pre-flight must stop the run with a cause, a hint
  // and its own exit status before anything is compiled or created.
  const std::string dir = scratch_dir("host");
  auto r = run_captured(ChildSpec{.exe = kHarness,
                                  .args = {"run", "--backend", "stap", "--veth", "--frames", "2",
                                           "--out", dir + "/run"}},
                        60s);
  ASSERT_TRUE(r);
  if (r->status.code == 0 || r->status.code == 1)
    GTEST_SKIP() << "this machine can run probes";
  EXPECT_EQ(r->status.signal, 0);
  // The exit status the README's table gives for what stops it here, read from the machine:
  // 3 when not root, else 11 for a kernel without module loading (no /proc/modules).
  if (::geteuid() != 0) {
    EXPECT_EQ(r->status.code, 3) << r->err;
    EXPECT_NE(r->err.find("root"), std::string::npos) << r->err;
  } else if (::access("/proc/modules", F_OK) != 0) {
    EXPECT_EQ(r->status.code, 11) << r->err;
    EXPECT_NE(r->err.find("does not load modules"), std::string::npos) << r->err;
  } else {
    // Root on a kernel that loads modules: what stops stap here is not one this test can read
    // from the machine.
    EXPECT_NE(r->status.code, 70) << "internal error: " << r->err;
    GTEST_SKIP() << "this machine loads modules; stap stopped with exit status " << r->status.code
                 << ", which this test does not judge:\n"
                 << r->err;
  }
  EXPECT_EQ(r->err.rfind("harness: ", 0), 0u) << r->err;
  EXPECT_NE(r->err.find("\nhint: "), std::string::npos) << r->err;
  EXPECT_FALSE(file_has(dir + "/run/stap.log", "")) << "nothing created before pre-flight passed";
}

// The check rows of each block of doctor's output ("  STATE NAME(15 wide) detail", see
// format_checks): the chosen tracer's block first, then one per other tracer.
using DoctorBlock = std::vector<std::pair<std::string, std::string>>; // state, check name
std::vector<DoctorBlock> doctor_blocks(const std::string& out) {
  std::vector<DoctorBlock> blocks;
  const std::regex row(R"(^  (ok|FAIL|warn|unknown|skip) +(.{15}) .*)");
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("harness doctor: what") || line.starts_with("another tracer ("))
      blocks.emplace_back();
    else if (std::smatch m; !blocks.empty() && std::regex_match(line, m, row))
      blocks.back().emplace_back(m[1],
                                 std::string(m[2]).substr(0, m[2].str().find_last_not_of(' ') + 1));
  }
  return blocks;
}

bool has_row(const DoctorBlock& b, const std::string& name) {
  return std::any_of(b.begin(), b.end(), [&](const auto& r) { return r.second == name; });
}

// Each block holds a row for every check a run makes; the stap tracer's checks are rows of its
// block (the chosen one or another); the verdict names the first failing row of the first
// block and ends doctor with that check's status.
TEST(RunBinary, DoctorListsEveryCheck) {
  auto r = run_captured(ChildSpec{.exe = kHarness, .args = {"doctor", "--kernel", "6.1"}}, 60s);
  ASSERT_TRUE(r);
  const auto blocks = doctor_blocks(r->out);
  ASSERT_FALSE(blocks.empty()) << r->out;
  for (const auto& b : blocks)
    for (const char* check : {"root", "kernel", "tracer", "interface", "line map"})
      EXPECT_TRUE(has_row(b, check)) << check << "\n" << r->out;
  const auto stap = std::find_if(blocks.begin(), blocks.end(),
                                 [](const DoctorBlock& b) { return has_row(b, "stap"); });
  ASSERT_NE(stap, blocks.end()) << r->out;
  for (const char* check : {"modules", "lockdown", "module signing", "kernel headers"})
    EXPECT_TRUE(has_row(*stap, check)) << check << "\n" << r->out;
  const auto& first = blocks.front();
  const auto fail =
      std::find_if(first.begin(), first.end(), [](const auto& row) { return row.first == "FAIL"; });
  if (fail == first.end()) {
    EXPECT_EQ(r->status.code, 0) << r->out;
    EXPECT_NE(r->out.find("\nverdict: ready\n"), std::string::npos) << r->out;
  } else {
    EXPECT_NE(r->out.find("\nverdict: `harness run` would stop at \"" + fail->second +
                          "\" (exit status " + std::to_string(r->status.code) + ")\n"),
              std::string::npos)
        << r->out;
    EXPECT_NE(r->status.code, 0);
  }
}

// No source of the kernel anywhere (no build tree, an empty cache, no DEBUGINFOD_URLS): doctor
// reports the line map as a failing check with the instructions, not as a warning (issue 16).
TEST(RunBinary, DoctorFailsTheLineMapWithoutTheKernelsSource) {
  const std::string dir = scratch_dir("doctor-source");
  ChildSpec spec{.exe = kHarness, .args = {"doctor", "--kernel", "5.x"}};
  spec.env = {{"HARNESS_CACHE", dir + "/cache"}, {"DEBUGINFOD_URLS", ""}};
  auto r = run_captured(spec, 60s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->out.find("  FAIL  line map"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("tried debuginfod"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("DEBUGINFOD_URLS"), std::string::npos) << r->out;
  EXPECT_NE(r->status.code, 0);
}
