// The kprobe tracer end to end (issue 10): definitions made on this host with perf probe against
// the test kernels' vmlinux, installed by `harness run` inside a qemu guest into tracefs, the
// sender on a veth pair, and the reports checked. Kernels: the test kernels of Debian's 6.1.192
// (af_packet.c at -O0 and -O2); 6.12 is probed on Debian's stock kernel (stock_e2e_test.cpp).
// Skips only without root or qemu, as the stap e2e tests do.
#include "e2e_util.hpp"

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

// A test kernel from the cache (built the first time): series 6.1, -O0 or -O2.
std::string kernel(const std::string& series, bool optimised) {
  static std::map<std::string, std::string> built;
  const std::string key = series + (optimised ? "-O2" : "-O0");
  if (auto it = built.find(key); it != built.end())
    return it->second;
  std::vector<std::string> extra = {"--from-debian", series};
  if (optimised)
    extra.push_back("--optimised");
  return built[key] = ensure_kernel(extra);
}

class KprobeE2E : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = vm_skip_reason(); !why.empty())
      GTEST_SKIP() << why;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    out_ = cache_dir() + "/vm/e2e-kprobe-" + info->name() + "-" + std::to_string(::getpid());
    std::error_code ec;
    fs::remove_all(out_, ec);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure())
      for (int i = 0; i < runs_; ++i)
        fs::remove_all(dir(i), ec);
  }
  std::string dir(int i) const { return out_ + (i ? "-" + std::to_string(i) : ""); }

  // harness vm run --backend B ... -- <run args>; the report JSON (empty when there is none).
  json vm_run(const std::string& kernel_build, const std::string& backend,
              const std::vector<std::string>& run_args, int expected_exit) {
    const std::string out = dir(runs_++);
    std::vector<std::string> args = {
        "vm",        "run",       "--kernel-build", kernel_build, "--out", out, "--cache",
        cache_dir(), "--backend", backend,          "--timeout",  "7200",  "--"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    last_ = run_harness(args);
    EXPECT_EQ(last_.status.code, expected_exit) << last_.err << last_.out;
    auto text = read_file(out + "/run/report.json");
    EXPECT_TRUE(text) << "no report.json; stderr:\n" << last_.err;
    return text ? json::parse(*text) : json::object();
  }

  std::string out_;
  int runs_ = 0;
  Captured last_;
};

// `frames` frames through a ring of `ring` slots: each in slot seq % ring, each through
// SEND_REQUEST seen -> SENDING -> AVAILABLE in order, verdict OK.
void expect_frames_through(const json& r, int frames, int ring, int version) {
  ASSERT_FALSE(r.empty()) << "no report";
  EXPECT_EQ(r["exit_code"], 0) << r["anomalies"].dump();
  EXPECT_EQ(r["run"]["tpacket"], version);
  ASSERT_EQ(r["frames"].size(), static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; ++i) {
    const auto& f = r["frames"][static_cast<std::size_t>(i)];
    EXPECT_EQ(f["seq"], i);
    EXPECT_EQ(f["index"], i % ring);
    EXPECT_EQ(f["outcome"], "completed") << "frame " << i;
    const auto& k = f["kernel"];
    ASSERT_TRUE(k.is_object()) << "frame " << i;
    for (const char* t : {"request_seen_ns", "sending_ns", "available_ns"})
      ASSERT_TRUE(k[t].is_number()) << "frame " << i << " lacks " << t;
    EXPECT_LE(k["request_seen_ns"].get<long long>(), k["sending_ns"].get<long long>());
    EXPECT_LE(k["sending_ns"].get<long long>(), k["available_ns"].get<long long>());
  }
  const std::string v = "v" + std::to_string(version);
  EXPECT_EQ(probe(r, "set_status." + v + "_break")["records"], 2 * frames);
  EXPECT_EQ(probe(r, "snd.len_sum")["records"], frames);
  EXPECT_EQ(probe(r, "destruct.set_available")["records"], frames);
  for (const char* p : {"request_seen", "sending", "available"})
    EXPECT_EQ(phase(r, p)["frames"], frames) << p;
}

TEST_F(KprobeE2E, Kernel61TpacketV1V2V3) {
  for (int v = 1; v <= 3; ++v) {
    SCOPED_TRACE("TPACKET_V" + std::to_string(v));
    expect_frames_through(
        vm_run(kernel("6.1", false), "kprobe",
               {"--frames", "2", "--tpacket", "v" + std::to_string(v), "--ring-frames", "8"}, 0),
        2, 8, v);
  }
}

TEST_F(KprobeE2E, Kernel61MoreFramesThanTheRingHolds) {
  expect_frames_through(vm_run(kernel("6.1", false), "kprobe",
                               {"--frames", "20", "--tpacket", "v2", "--ring-frames", "8"}, 0),
                        20, 8, 2);
}

// 6.12 runs on Debian's stock 6.12 (stock_e2e_test.cpp, no kernel build): every phase, V1/V2/V3,
// the ring wrapping. That SystemTap 4.8 refuses 6.12 and `auto` picks kprobe for it is the tracer
// choice's (tests/tracers/tracers_test.cpp), which every VM run goes through.

// Both tracers on the same kernel and scenario: the same frames, slots, outcomes and phases.
TEST_F(KprobeE2E, BothTracersAgreeOn61) {
  const std::vector<std::string> scenario = {"--frames",      "20", "--tpacket", "v2",
                                             "--ring-frames", "8"};
  const json s = vm_run(kernel("6.1", false), "stap", scenario, 0);
  EXPECT_NE(last_.err.find("tracer stap"), std::string::npos) << last_.err;
  const json k = vm_run(kernel("6.1", false), "kprobe", scenario, 0);
  ASSERT_FALSE(s.empty());
  ASSERT_FALSE(k.empty());
  ASSERT_EQ(s["frames"].size(), k["frames"].size());
  for (std::size_t i = 0; i < s["frames"].size(); ++i)
    for (const char* f : {"seq", "index", "outcome", "mapped_by"})
      EXPECT_EQ(s["frames"][i][f], k["frames"][i][f]) << "frame " << i << " " << f;
  for (const auto& p : s["phases"])
    EXPECT_EQ(phase(k, p["name"].get<std::string>())["frames"], p["frames"]) << p["name"];
  EXPECT_EQ(s["exit_code"], k["exit_code"]);
}

TEST_F(KprobeE2E, AutoPicksStapOn61) {
  vm_run(kernel("6.1", false), "auto", {"--frames", "2"}, 0);
  EXPECT_NE(last_.err.find("tracer stap: SystemTap 4.8 can build"), std::string::npos) << last_.err;
}

// -O2: as with stap, the inlined status stores' `break;` lines have no line-table entry, so perf
// cannot place them either, and `ph` is optimised out at `len_sum += tp_len;`. The stand-ins
// show SENDING (the store's own line in tpacket_snd) and AVAILABLE (the first line after the
// destructor's store perf can place): every phase, and no false finding.
TEST_F(KprobeE2E, OptimisedKernelReportsWhatItCanSee) {
  const json r = vm_run(kernel("6.1", true), "kprobe",
                        {"--frames", "2", "--tpacket", "v2", "--ring-frames", "8"}, 0);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r["summary"]["completed"], 2) << r["anomalies"].dump();
  EXPECT_EQ(phase(r, "request_seen")["frames"], 2);
  EXPECT_EQ(phase(r, "destruct")["frames"], 2);
  for (const char* p : {"sending", "available"}) {
    EXPECT_TRUE(phase(r, p)["expected"].get<bool>()) << p;
    EXPECT_EQ(phase(r, p)["frames"], 2) << p;
  }
  for (const auto& p : r["probes"])
    EXPECT_NE(p["anchor"], "set_status.v2_break") << "a dropped probe must not be planned";
  EXPECT_EQ(probe(r, "destruct.set_available")["records"], 2);
  EXPECT_EQ(probe(r, "destruct.after_available")["unreadable"], 0);
  EXPECT_EQ(probe(r, "snd.len_sum")["records"], 2);
}

// A run killed with SIGKILL leaves its kprobe events and tracing instance behind; the next run
// removes them, and after it kprobe_events holds nothing of harness's. The three steps run in
// one guest boot (tracefs does not outlive it), sequenced by sh in the guest.
TEST_F(KprobeE2E, NextRunRemovesWhatAKilledRunLeft) {
  const std::string k = kernel("6.1", false);
  const std::string out = dir(runs_++);
  const auto built = run_harness(
      {"build", "--backend", "kprobe", "--kernel-build", k, "-o", out, "--cache", cache_dir()});
  ASSERT_EQ(built.status.code, 0) << built.err;
  const std::string defs = out + "/harness_probes.kprobes";
  // The guest sees the host read-only except the VM's share (vm exec --out).
  const std::string share = out + "/vm";
  const std::string script =
      "timeout -s KILL 20 " + kHarness + " run --kprobes " + defs + " --veth --out " + share +
      "/killed --frames 100000000 >/dev/null 2>&1; echo killed=$?; "
      "grep -c harness_ /sys/kernel/debug/tracing/kprobe_events; " +
      kHarness + " run --kprobes " + defs + " --veth --frames 2 --out " + share +
      "/next; echo next=$?; "
      "grep -c harness_ /sys/kernel/debug/tracing/kprobe_events; ls "
      "/sys/kernel/debug/tracing/instances";
  const auto r = run_harness({"vm", "exec", "--kernel-build", k, "--out", share, "--cache",
                              cache_dir(), "--timeout", "7200", "--", "/bin/sh", "-c", script});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_NE(r.out.find("killed=137"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("of a harness run that is gone"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("next=0"), std::string::npos) << r.out;
  // The last grep counts 0 harness events; the instance listing has no harness_ entry.
  ASSERT_NE(r.out.find("next=0"), std::string::npos);
  ASSERT_NE(r.out.find("next=0"), std::string::npos);
  const auto tail = r.out.substr(r.out.find("next=0"));
  EXPECT_NE(tail.find("\n0\n"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("harness_"), std::string::npos) << tail;
}

} // namespace
} // namespace harness
