// The acceptance test of the whole tool: real kernels built from Debian's linux-source-6.1, real
// SystemTap modules cross-built on this host, real qemu guests running `harness run` with the
// sender on a veth pair, and the reports checked. Skips only when qemu is not installed or the
// test does not run as root.
#include "e2e_util.hpp"
#include "local_debuginfod.hpp"
#include "stap/stap_env.hpp"
#include "stap/stap_tracer.hpp"
#include "vm/console_log.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace harness {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

// Where each run's real probe output is kept (HARNESS_E2E_CAPTURES overrides): the fixtures
// under tests/fixtures/traces are refreshed from here.
std::string captures_dir() {
  const char* c = std::getenv("HARNESS_E2E_CAPTURES");
  return c && *c ? c : std::string(HARNESS_BINARY_DIR) + "/e2e-captures";
}

// The test kernels, from the cache or built now (once per test process).
std::string kernel(bool optimised) {
  static std::map<bool, std::string> built;
  if (auto it = built.find(optimised); it != built.end())
    return it->second;
  return built[optimised] = ensure_kernel(optimised ? std::vector<std::string>{"--optimised"}
                                                    : std::vector<std::string>{});
}

class E2E : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = vm_skip_reason(); !why.empty())
      GTEST_SKIP() << why;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    out_ = cache_dir() + "/vm/e2e-" + info->name() + "-" + std::to_string(::getpid());
    std::error_code ec;
    fs::remove_all(out_, ec);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure() && !out_.empty())
      fs::remove_all(out_, ec); // keep a failed run's files for the log
  }

  // harness vm run ... -- <run args>; returns the report JSON.
  json vm_run(const std::string& kernel_build, const std::vector<std::string>& run_args,
              int expected_exit, const std::string& capture_name) {
    // vm run's own timeout only guards against a guest that never ends; it is set above
    // CTest's, so a slow guest is never failed by it.
    std::vector<std::string> args = {
        "vm",      "run",       "--kernel-build", kernel_build, "--out",  out_,
        "--cache", cache_dir(), "--timeout",      "7200",       "--html", out_ + "/vm-report.html",
        "--"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    const auto r = run_harness(args);
    EXPECT_EQ(r.status.code, expected_exit) << r.err << r.out;
    auto text = read_file(out_ + "/run/report.json");
    EXPECT_TRUE(text) << "no report.json; stderr:\n" << r.err;
    if (!text)
      return json::object();
    // Keep the real probe output as a fixture for the correlator's tests.
    std::error_code ec;
    fs::create_directories(captures_dir(), ec);
    for (const auto& [from, to] :
         {std::pair{"trace.txt", ".trace"}, std::pair{"sender.json", ".sender.json"},
          std::pair{"plan.json", ".plan.json"}})
      fs::copy_file(out_ + "/run/" + from, captures_dir() + "/" + capture_name + to,
                    fs::copy_options::overwrite_existing, ec);
    auto report = json::parse(*text);
    // --html: the guest run's report.html, one lane (data-seq) per frame of the report, up to
    // the page's lane limit (HtmlOptions::max_lanes, 256; the rest are grouped and it says so).
    auto html = read_file(out_ + "/vm-report.html");
    EXPECT_TRUE(html) << "vm run --html wrote nothing";
    std::size_t lanes = 0;
    for (auto at = html ? html->find("data-seq=\"") : std::string::npos; at != std::string::npos;
         at = html->find("data-seq=\"", at + 1))
      ++lanes;
    EXPECT_EQ(lanes, std::min<std::size_t>(report["frames"].size(), 256));
    return report;
  }

  // harness vm run --module KO ... -- <run args>: the prebuilt module's report JSON.
  json vm_run_module(const std::string& kernel_build, const std::string& module,
                     const std::vector<std::string>& run_args, int expected_exit) {
    std::vector<std::string> args = {
        "vm",         "run",     "--kernel-build", kernel_build, "--module", module, "--out",
        out_ + "/vm", "--cache", cache_dir(),      "--timeout",  "7200",     "--"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    const auto r = run_harness(args);
    EXPECT_EQ(r.status.code, expected_exit) << r.err << r.out;
    auto text = read_file(out_ + "/vm/run/report.json");
    EXPECT_TRUE(text) << "no report.json; stderr:\n" << r.err;
    return text ? json::parse(*text) : json::object();
  }

  std::string out_;
};

// Frames 0 and 1 each went SEND_REQUEST -> SENDING -> AVAILABLE, in ring slots 0 and 1, and the
// status probes of this TPACKET version fired for them.
void expect_two_frames_through(const json& r, int version) {
  ASSERT_FALSE(r.empty()) << "no report";
  ASSERT_EQ(r.value("schema", ""), "harness.report/1");
  EXPECT_EQ(r["exit_code"], 0) << r["anomalies"].dump();
  EXPECT_EQ(r["run"]["tpacket"], version);
  ASSERT_EQ(r["frames"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto& f = r["frames"][static_cast<size_t>(i)];
    EXPECT_EQ(f["seq"], i);
    EXPECT_EQ(f["index"], i);
    EXPECT_EQ(f["outcome"], "completed");
    EXPECT_EQ(f["mapped_by"], "ph_check");
    ASSERT_TRUE(f["kernel"].is_object());
    const auto& k = f["kernel"];
    for (const char* t : {"request_seen_ns", "sending_ns", "available_ns"})
      EXPECT_TRUE(k[t].is_number()) << "frame " << i << " lacks " << t;
    EXPECT_LE(k["request_seen_ns"].get<long long>(), k["sending_ns"].get<long long>());
    EXPECT_LE(k["sending_ns"].get<long long>(), k["available_ns"].get<long long>());
    EXPECT_LE(f["sender"]["t_request_ns"].get<long long>(), k["request_seen_ns"].get<long long>());
    EXPECT_EQ(f["sender"]["final"], "AVAILABLE");
  }
  const std::string v = "v" + std::to_string(version);
  EXPECT_EQ(probe(r, "set_status." + v + "_break")["records"], 4); // SENDING + AVAILABLE x 2
  EXPECT_GE(probe(r, "get_status." + v + "_return")["records"].get<int>(), 2);
  EXPECT_EQ(probe(r, "snd.len_sum")["records"], 2);
  EXPECT_EQ(probe(r, "destruct.set_available")["records"], 2);
  EXPECT_GE(probe(r, "snd.start")["records"].get<int>(), 1);
  for (int other = 1; other <= 3; ++other) {
    if (other != version) {
      EXPECT_EQ(probe(r, "set_status.v" + std::to_string(other) + "_break")["records"], 0);
    }
  }
  for (const char* p : {"request_seen", "sending", "available"})
    EXPECT_EQ(phase(r, p)["frames"], 2) << p;
}

// A copy of `tree` made of symlinks, without `hide` (a path relative to it): every directory on
// the way to it is a real directory of symlinks, everything else links to the original.
void link_tree_without(const fs::path& tree, const fs::path& copy, const fs::path& hide) {
  fs::create_directories(copy);
  const std::string first = hide.begin()->string();
  for (const auto& e : fs::directory_iterator(tree)) {
    const std::string name = e.path().filename().string();
    if (name != first)
      fs::create_directory_symlink(e.path(), copy / name); // works for files too
    else if (hide.has_parent_path() && fs::is_directory(e.path()))
      link_tree_without(fs::canonical(e.path()), copy / name, hide.lexically_relative(first));
  }
}

// Issue 16, in the VM: the host finds the guest kernel's af_packet.c by its build id alone. The
// build tree is given as a copy of symlinks whose source/ lacks net/packet/af_packet.c (make
// still builds against the real sources through the tree's Makefile), the harness cache holds
// no copy for that build id, and a local debuginfod indexing the real tree serves the file
// (the guest has no network: the host resolves it before booting). The report is the one a
// normal run gives.
TEST_F(E2E, SourceFoundByBuildIdOnly) {
  if (!find_program("debuginfod"))
    GTEST_SKIP() << "debuginfod is not installed (scripts/install-deps --tests installs it)";
  const std::string build = kernel(false);
  const auto id_out =
      run_captured({.exe = "readelf", .args = {"-n", build + "/vmlinux"}}, std::chrono::minutes(1));
  ASSERT_TRUE(id_out && id_out->status.success());
  const auto at = id_out->out.find("Build ID: ");
  ASSERT_NE(at, std::string::npos);
  const std::string id = id_out->out.substr(at + 10, id_out->out.find('\n', at) - at - 10);
  std::error_code ec;
  fs::remove_all(cache_dir() + "/by-build-id/" + id, ec);

  const std::string tree = out_ + "-tree";
  fs::remove_all(tree, ec);
  link_tree_without(build, tree, "source/net/packet/af_packet.c");
  ASSERT_FALSE(fs::exists(tree + "/source/net/packet/af_packet.c"));
  ASSERT_TRUE(fs::exists(tree + "/source/net/packet/Makefile"));
  testing::LocalDebuginfod server(build, out_ + "-debuginfod.sqlite");
  ASSERT_EQ(server.error(), "");
  std::cout << "[ measure  ] indexing " << build << ": " << server.index_seconds() << " s\n";

  ChildSpec spec{.exe = kHarness,
                 .args = {"vm", "run", "--kernel-build", tree, "--out", out_, "--cache",
                          cache_dir(), "--timeout", "240", "--", "--frames", "2", "--tpacket", "v2",
                          "--ring-frames", "8"}};
  spec.env = {{"DEBUGINFOD_URLS", server.urls()}};
  auto r = run_captured(spec, std::chrono::minutes(10));
  server.stop();
  fs::remove_all(tree, ec);
  fs::remove(out_ + "-debuginfod.sqlite", ec);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 0) << r->err;
  EXPECT_NE(r->err.find("af_packet.c: debuginfod (" + server.urls() + "), build id " + id),
            std::string::npos)
      << r->err;
  auto text = read_file(out_ + "/run/report.json");
  ASSERT_TRUE(text) << r->err;
  const json report = json::parse(*text);
  expect_two_frames_through(report, 2);
  auto shipped = read_file(std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json");
  ASSERT_TRUE(shipped);
  const std::string sha = json::parse(*shipped)["source"]["sha1"];
  EXPECT_NE(report["run"]["map"].get<std::string>().find("sha1 " + sha.substr(0, 12)),
            std::string::npos)
      << report["run"]["map"];
}

TEST_F(E2E, VerifyPassesOnTheO0Kernel) {
  const auto r = run_harness({"verify", "--kernel-build", kernel(false), "--cache", cache_dir()});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("every anchor of the set can be probed"), std::string::npos) << r.out;
}

TEST_F(E2E, VerifyReportsUnplaceableAnchorsOnTheO2Kernel) {
  const auto r = run_harness({"verify", "--kernel-build", kernel(true), "--cache", cache_dir()});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  for (const char* a : {"set_status.v2_break", "get_status.v2_return"})
    EXPECT_NE(r.out.find(a), std::string::npos);
  EXPECT_NE(r.out.find("NOT PROBEABLE"), std::string::npos);
  EXPECT_NE(r.out.find("nearest probeable line"), std::string::npos);
}

TEST_F(E2E, TwoFramesTpacketV1) {
  expect_two_frames_through(vm_run(kernel(false),
                                   {"--frames", "2", "--tpacket", "v1", "--ring-frames", "8"}, 0,
                                   "6.1.192-O0-v1-2frames-ring8-run"),
                            1);
}

TEST_F(E2E, TwoFramesTpacketV2) {
  expect_two_frames_through(vm_run(kernel(false),
                                   {"--frames", "2", "--tpacket", "v2", "--ring-frames", "8"}, 0,
                                   "6.1.192-O0-v2-2frames-ring8-run"),
                            2);
}

TEST_F(E2E, TwoFramesTpacketV3) {
  expect_two_frames_through(vm_run(kernel(false),
                                   {"--frames", "2", "--tpacket", "v3", "--ring-frames", "8"}, 0,
                                   "6.1.192-O0-v3-2frames-ring8-run"),
                            3);
}

TEST_F(E2E, MoreFramesThanTheRingHolds) {
  const auto r = vm_run(kernel(false), {"--frames", "20", "--tpacket", "v2", "--ring-frames", "8"},
                        0, "6.1.192-O0-v2-20frames-ring8-run");
  ASSERT_FALSE(r.empty()) << "no report";
  EXPECT_EQ(r["exit_code"], 0) << r["anomalies"].dump();
  EXPECT_EQ(r["summary"]["completed"], 20);
  ASSERT_EQ(r["frames"].size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(r["frames"][i]["seq"], i);
    EXPECT_EQ(r["frames"][i]["index"], i % 8) << "the ring wraps every 8 frames";
    EXPECT_EQ(r["frames"][i]["outcome"], "completed");
  }
  EXPECT_EQ(probe(r, "set_status.v2_break")["records"], 40);
}

// Thousands of records: stap 4.8's relay transport lost every record after its first
// "transport failure" until harness patched the runtime (stap_env.hpp); every frame must be
// accounted for and stap must report no transport failure.
TEST_F(E2E, ThousandFramesKeepEveryRecord) {
  const auto r =
      vm_run(kernel(false), {"--frames", "1000", "--tpacket", "v2", "--ring-frames", "64"}, 0,
             "6.1.192-O0-v2-1000frames-ring64-run");
  ASSERT_FALSE(r.empty()) << "no report";
  EXPECT_EQ(r["summary"]["completed"], 1000) << r["anomalies"].dump();
  EXPECT_EQ(probe(r, "snd.len_sum")["records"], 1000);
  EXPECT_EQ(probe(r, "set_status.v2_break")["records"], 2000);
  auto stap_log = read_file(out_ + "/run/stap.log");
  ASSERT_TRUE(stap_log);
  EXPECT_EQ(stap_log->find("transport failures"), std::string::npos) << *stap_log;
}

TEST_F(E2E, OptimisedKernelStillReportsWithMissingPhases) {
  const auto r = vm_run(kernel(true), {"--frames", "2", "--tpacket", "v2", "--ring-frames", "8"}, 0,
                        "6.1.192-O2-v2-2frames-ring8-run");
  ASSERT_FALSE(r.empty()) << "no report";
  EXPECT_EQ(r["summary"]["completed"], 2);
  // __packet_set_status is inlined and its `break;` lines have no line-table entry: the probes
  // that see SENDING and AVAILABLE cannot be placed. SENDING's stand-in (the store's own line in
  // tpacket_snd) has no line-table entry for stap either, and the report says so; AVAILABLE's
  // (the line after the destructor's store) has one.
  EXPECT_FALSE(phase(r, "sending")["expected"].get<bool>());
  EXPECT_TRUE(phase(r, "available")["expected"].get<bool>());
  EXPECT_EQ(phase(r, "available")["frames"], 2);
  EXPECT_EQ(phase(r, "destruct")["frames"], 2);
  // len_sum's ph is optimised out: its records are the frames their call found last.
  EXPECT_EQ(phase(r, "xmit")["frames"], 2);
  for (const auto& p : r["probes"])
    EXPECT_NE(p["anchor"], "set_status.v2_break") << "a dropped probe must not be planned";
  EXPECT_EQ(probe(r, "destruct.set_available")["records"], 2);
}

// `harness run -r BUILD` in the guest: the real stap translates the generated script against the
// -O0 tree (visible over the guest's read-only 9p root) with what run adds for stap 4.8 (-P at
// -O0, the patched runtime -R kept in the cache), loads it and probes two frames. The code that
// adds those flags (stap/stap_tracer.cpp run_compile_options) runs nowhere else.
//
// Pass 4 (gcc under TCG) cost 22 of CI's 60 minutes, so the host's stap compiles the same script
// with the same options first, into the stap cache both share (stap_data_dir): the guest's stap
// still parses and resolves the script against the tree (passes 1-2), then finds passes 3-4 by
// its hash, which covers that pass-2 output, the tree, the runtime and every option that changes
// the module (docs/tracing-notes.md). So a guest run that chose other options or another script
// than the host compiled misses the cache, and the test fails on it.
TEST_F(E2E, RunCompilesWithRealStapInTheGuest) {
  const std::string tree = kernel(false);
  // The script the guest's run writes (the shipped 6.1.192 map's probes, as `generate` writes
  // it), under the name run gives stap: probes.stp in the current directory.
  const std::string host_dir = out_ + "/host";
  fs::create_directories(host_dir);
  const std::string script = host_dir + "/probes.stp";
  ASSERT_EQ(run_harness({"generate", "--kernel", "6.1.192", "-o", script}).status.code, 0);
  ChildSpec stap{.exe = "stap", .args = {"-p4", "-r", tree}};
  for (const auto& o : stap::run_compile_options(tree, [](std::string_view) {}))
    stap.args.push_back(o);
  stap.args.push_back("probes.stp");
  stap.env = {{"SYSTEMTAP_DIR", stap::stap_data_dir(cache_dir())}};
  stap.cwd = host_dir;
  const auto host = run_captured(stap, std::chrono::hours(1));
  ASSERT_TRUE(host && host->status.code == 0) << describe_command(stap) << ":\n"
                                              << (host ? host->err : host.error().why);
  const std::string vm = out_ + "/vm";
  // --ready-timeout is raised so that only CTest's timeout bounds a guest that misses the cache.
  const auto r = run_harness(
      {"vm",        "exec",      "--kernel-build", tree, "--out",  vm,    "--cache",
       cache_dir(), "--timeout", "7200",           "--", kHarness, "run", "-r",
       tree,        "--veth",    "--frames",       "2",  "--out",  "run", "--ready-timeout",
       "3000"});
  EXPECT_EQ(r.status.code, 0) << r.err << r.out;
  const auto err = read_file(vm + "/exec.stderr").value_or("");
  // stap -s: the transport buffer sized for the run (harness/session/trace_buffer.hpp).
  EXPECT_NE(err.find("starting stap -v -s "), std::string::npos) << err;
  EXPECT_NE(err.find(" -r " + tree + " -R "), std::string::npos) << err;
  EXPECT_NE(err.find("): stap -P"), std::string::npos) << "no -P at -O0:\n" << err;
  auto text = read_file(vm + "/run/report.json");
  ASSERT_TRUE(text) << err;
  const json rep = json::parse(*text);
  EXPECT_EQ(rep["exit_code"], 0) << rep["anomalies"].dump();
  EXPECT_EQ(rep["summary"]["completed"], 2);
  for (const char* p : {"request_seen", "sending", "available"})
    EXPECT_EQ(phase(rep, p)["frames"], 2) << p;
  EXPECT_EQ(probe(rep, "snd.len_sum")["records"], 2);
  // The real pre-flight passed, stap's passes were shown, and SIGINT let `probe end` print its
  // hit counts (what the stand-in tests of tests/session only fake).
  EXPECT_EQ(err.find("FAIL "), std::string::npos) << err;
  EXPECT_EQ(read_file(vm + "/run/probes.stp").value_or("guest"), read_file(script).value_or(""))
      << "the guest's run generated another script than the host compiled";
  EXPECT_NE(err.find("stap pass 2/5 elaborate done in"), std::string::npos) << err;
  // The version check ran (a 10 s limit on `stap --version` under TCG read "unknown").
  EXPECT_NE(err.find("tracer stap: SystemTap 4."), std::string::npos) << err;
  EXPECT_NE(err.find("stap pass 4/5 compile (cached)"), std::string::npos)
      << "the guest's stap did not find the module the host's compiled for the same script, "
         "tree and options:\n"
      << err;
  EXPECT_NE(err.find("stap's cache: SYSTEMTAP_DIR=" + stap::stap_data_dir(cache_dir())),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("stap ready after"), std::string::npos) << err;
  EXPECT_EQ(probe(rep, "snd.len_sum")["hits"], 2) << "no END summary";
  for (const char* f : {"probes.stp", "probes.stp.plan.json", "stap.log", "trace.txt",
                        "sender.json", "report.txt", "report.json"})
    EXPECT_TRUE(fs::exists(vm + "/run/" + f)) << f;
}

// Proof that silent probes fail: a map whose V2 status anchors sit 4 lines off (on the V3 case's
// lines, which a V2 ring never executes) gives probes that never fire, and the run must fail
// with the line-drift finding naming them, not pass with missing phases.
TEST_F(E2E, ShiftedMapFailsWithTheLineDriftFinding) {
  const std::string tree = kernel(false);
  auto text = read_file(std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json");
  ASSERT_TRUE(text);
  json map = json::parse(*text);
  std::map<std::string, int> shifted;
  for (auto& a : map["anchors"])
    if (a["name"] == "set_status.v2_break" || a["name"] == "get_status.v2_return") {
      a["line"] = a["line"].get<int>() + (a["name"] == "set_status.v2_break" ? 4 : 3);
      shifted[a["name"]] = a["line"];
    }
  ASSERT_EQ(shifted.size(), 2u);
  fs::create_directories(out_);
  const std::string map_file = out_ + "/shifted-map.json";
  ASSERT_TRUE(write_file_atomic(map_file, map.dump(2)));
  const std::string mod_dir = out_ + "/module";
  const auto b = run_harness(
      {"build", "--kernel-build", tree, "--map", map_file, "--cache", cache_dir(), "-o", mod_dir});
  ASSERT_EQ(b.status.code, 0) << b.err;
  const std::string module = b.out.substr(0, b.out.find('\n')); // build prints NAME.ko first
  ASSERT_TRUE(module.ends_with(".ko")) << b.out;
  const json r =
      vm_run_module(tree, module, {"--frames", "2", "--tpacket", "v2", "--ring-frames", "8"}, 1);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r["exit_code"], 1);
  for (const auto& [anchor, line] : shifted) {
    bool found = false;
    for (const auto& a : r["anomalies"])
      if (a["kind"] == "probe_never_fired" && a["anchor"] == anchor) {
        found = true;
        EXPECT_EQ(a["line"], line);
        EXPECT_EQ(a["message"], "probe never fired: possible line drift at anchor " + anchor +
                                    " (line " + std::to_string(line) + "): run `harness drift`");
      }
    EXPECT_TRUE(found) << anchor << " not reported: " << r["anomalies"].dump();
  }
}

// `harness vm exec` runs a program in the guest and brings back its output and exit status; the
// guest has the /dev/shm programs expect (a tmpfs).
TEST_F(E2E, VmExecReturnsTheProgramsOutputAndStatus) {
  const std::string tree = kernel(false);
  const auto r = run_harness({"vm", "exec", "--kernel-build", tree, "--out", out_, "--cache",
                              cache_dir(), "--", "cat", "/proc/sys/kernel/osrelease"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, "6.1.192\n") << "the guest's kernel, not the host's";
  fs::remove_all(out_);
  const auto f =
      run_harness({"vm", "exec", "--kernel-build", tree, "--out", out_, "--cache", cache_dir(),
                   "--", "stat", "-f", "-c", "%T", "/dev/shm", "/hx-no-such-file"});
  EXPECT_EQ(f.status.code, 1) << "stat's own exit status: " << f.err;
  EXPECT_EQ(f.out, "tmpfs\n");
  EXPECT_NE(f.err.find("/hx-no-such-file"), std::string::npos) << f.err;
}

// A VM that does not finish is stopped and reported as such: exit 12, README's table. The
// program sleeps a day; only --timeout ends it. Which phase the message names depends on how far
// the guest got (under TCG on a loaded machine it may not reach its ready marker in time), so the
// test reads the console the hint names and checks the message against what it shows.
TEST_F(E2E, GuestThatNeverEndsIsExit12) {
  const auto r = run_harness({"vm", "exec", "--kernel-build", kernel(false), "--out", out_,
                              "--cache", cache_dir(), "--timeout", "12", "--", "sleep", "86400"});
  EXPECT_EQ(r.status.code, 12) << r.err;
  const std::string hint = "\nhint: the guest's console is in ";
  const auto at = r.err.find(hint);
  ASSERT_NE(at, std::string::npos) << r.err;
  const auto start = at + hint.size();
  const auto console = read_file(r.err.substr(start, r.err.find(';', start) - start));
  ASSERT_TRUE(console.has_value()) << r.err;
  const auto seen = vm::scan_console(*console);
  const std::string phase = seen.ready
                                ? "the guest never finished"
                                : "the guest init started but never printed its ready marker";
  EXPECT_TRUE(seen.init_started) << *console;
  EXPECT_NE(r.err.find("harness: VM run: timed out after 12.0 s: " + phase), std::string::npos)
      << r.err;
}

// A module built once is reused from the cache (same bytes, no stap run), and --no-cache builds
// again. A fresh cache, so the first build really compiles.
TEST_F(E2E, ModuleCacheIsReused) {
  const std::string tree = kernel(false);
  const std::string cache = out_ + "/cache";
  auto build = [&](const std::string& dir, bool use_cache) {
    std::vector<std::string> args = {"build", "--kernel-build", tree, "--cache", cache,
                                     "-o",    out_ + "/" + dir};
    if (!use_cache)
      args.push_back("--no-cache");
    return run_harness(args);
  };
  const auto first = build("a", true);
  ASSERT_EQ(first.status.code, 0) << first.err;
  EXPECT_NE(first.err.find(": built in "), std::string::npos) << first.err;
  const auto second = build("b", true);
  ASSERT_EQ(second.status.code, 0) << second.err;
  EXPECT_NE(second.err.find(": from the cache in "), std::string::npos) << second.err;
  // build prints NAME.ko's path first.
  const auto a = read_file(first.out.substr(0, first.out.find('\n')));
  const auto b = read_file(second.out.substr(0, second.out.find('\n')));
  ASSERT_TRUE(a && b) << first.out << second.out;
  EXPECT_TRUE(*a == *b) << "the cached module is the one built first";
  const auto third = build("c", false);
  ASSERT_EQ(third.status.code, 0) << third.err;
  EXPECT_NE(third.err.find(": built in "), std::string::npos) << third.err;
}

// The main job of the README: `harness demo` boots the stock kernel Debian ships now (the one
// linux-image-amd64 depends on; downloaded once), probes it and prints the report of two
// frames, every phase seen.
TEST_F(E2E, DemoRunsTheWholeChain) {
  const auto r = run_harness({"demo", "--cache", cache_dir(), "--no-install", "--out", out_});
  EXPECT_EQ(r.status.code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("the stock kernel Debian ships now"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(kernel stock Debian)"), std::string::npos) << r.err;
  auto text = read_file(out_ + "/run/report.json");
  ASSERT_TRUE(text) << r.err;
  const json rep = json::parse(*text);
  EXPECT_EQ(rep["summary"]["completed"], 2) << rep["anomalies"].dump();
  EXPECT_EQ(rep["exit_code"], 0);
  for (const char* p : {"request_seen", "sending", "xmit", "destruct", "available"})
    EXPECT_EQ(phase(rep, p)["frames"], 2) << p;
  EXPECT_NE(r.out.find("verdict"), std::string::npos) << r.out;
}

// `harness demo --test-kernel --kernel 6.1`: the probe-friendly test kernel (built once, then
// from the cache) with SystemTap, as `auto` picks for it.
TEST_F(E2E, DemoBuildsTheTestKernelWhenAsked) {
  const auto r = run_harness({"demo", "--test-kernel", "--kernel", "6.1", "--cache", cache_dir(),
                              "--no-install", "--out", out_});
  EXPECT_EQ(r.status.code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("step 2/3: test kernel (linux-source-6.1, af_packet.c -O0)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("tracer stap"), std::string::npos) << r.err;
  auto text = read_file(out_ + "/run/report.json");
  ASSERT_TRUE(text) << r.err;
  EXPECT_EQ(json::parse(*text)["summary"]["completed"], 2);
}

// `harness demo --optimised --backend kprobe`: the test kernel's -O2 variant (af_packet.c inlined
// as distributions build it; cached by the kprobe e2e tests), every phase seen through the
// stand-ins.
TEST_F(E2E, DemoOptimisedBootsTheO2TestKernel) {
  const auto r = run_harness({"demo", "--optimised", "--backend", "kprobe", "--cache", cache_dir(),
                              "--no-install", "--out", out_});
  EXPECT_EQ(r.status.code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("step 2/3: test kernel (linux-source-6.1, af_packet.c -O2)"),
            std::string::npos)
      << r.err;
  auto text = read_file(out_ + "/run/report.json");
  ASSERT_TRUE(text) << r.err;
  const json rep = json::parse(*text);
  EXPECT_EQ(rep["summary"]["completed"], 2) << rep["anomalies"].dump();
  for (const char* p : {"request_seen", "sending", "xmit", "destruct", "available"})
    EXPECT_EQ(phase(rep, p)["frames"], 2) << p;
}

} // namespace
} // namespace harness
