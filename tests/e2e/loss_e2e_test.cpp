// Verdicts under load (issue 26), for real in the qemu guest on the clean 6.1 -O0 test kernel,
// under both tracers:
// - loss forced (a deliberately tiny buffer, and the tracer's output not read while the sender
//   runs: HARNESS_FAULT_STALL_TRACER, docs/DESIGN.md "Lost records"): the tracer reports what it
//   lost, and the verdict is incomplete (exit 15), never a kernel bug;
// - tens of thousands of frames through a ring of 256 at the default settings (a buffer sized for
//   the run, the sender paced): every frame accounted for, no loss, OK.
#include "e2e_util.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace harness {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

struct Tracer {
  std::string backend;
  std::string tiny_buffer; // the smallest each takes: stap's transport counts whole MiB
};

class LossE2E : public ::testing::TestWithParam<Tracer> {
protected:
  void SetUp() override {
    if (auto why = vm_skip_reason(); !why.empty())
      GTEST_SKIP() << why;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info->name();
    for (auto& c : name)
      if (c == '/')
        c = '-';
    out_ = cache_dir() + "/vm/e2e-loss-" + name + "-" + std::to_string(::getpid());
    std::error_code ec;
    fs::remove_all(out_, ec);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure())
      fs::remove_all(out_, ec);
  }

  // harness vm run on the clean 6.1 -O0 kernel; the report JSON and harness's exit status.
  json vm_run(const std::vector<std::string>& run_args, bool stall) {
    static const std::string kernel = ensure_kernel({});
    std::vector<std::string> args = {
        "vm",        "run",       "--kernel-build",   kernel,      "--out", out_, "--cache",
        cache_dir(), "--backend", GetParam().backend, "--timeout", "7200",  "--"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    if (stall)
      ::setenv("HARNESS_FAULT_STALL_TRACER", "1", 1);
    last_ = run_harness(args);
    ::unsetenv("HARNESS_FAULT_STALL_TRACER");
    auto text = read_file(out_ + "/run/report.json");
    EXPECT_TRUE(text) << "no report.json; stderr:\n" << last_.err;
    return text ? json::parse(*text) : json::object();
  }

  std::string out_;
  Captured last_;
};

TEST_P(LossE2E, ForcedLossIsIncompleteNeverAKernelBug) {
  const json r = vm_run({"--frames", "16384", "--tpacket", "v2", "--trace-buffer",
                         GetParam().tiny_buffer, "--no-pace"},
                        true);
  ASSERT_FALSE(r.empty());
  EXPECT_NE(last_.err.find("fault injection (HARNESS_FAULT_STALL_TRACER=1)"), std::string::npos)
      << last_.err;
  EXPECT_EQ(last_.status.code, 15) << r["anomalies"].dump(2) << last_.err;
  EXPECT_EQ(r["exit_code"], 15);
  EXPECT_EQ(r["verdict"], "incomplete");
  EXPECT_TRUE(r["anomalies"].empty()) << r["anomalies"].dump(2);
  const json& loss = r["loss"];
  EXPECT_TRUE(loss["any"].get<bool>());
  EXPECT_GT(loss["records"].get<std::uint64_t>(), 1000u) << loss.dump(2);
  EXPECT_GE(loss["windows"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(loss["frames_observed"].get<std::uint64_t>() +
                loss["frames_unobserved"].get<std::uint64_t>(),
            16384u);
  EXPECT_GT(loss["frames_unobserved"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(r["summary"]["sent"], 16384) << "the sender itself lost nothing";
  const auto text = read_file(out_ + "/run/report.txt");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("verdict: INCOMPLETE, the tracer lost "), std::string::npos);
  const auto trace = read_file(out_ + "/run/trace.txt");
  ASSERT_TRUE(trace);
  if (GetParam().backend == "kprobe")
    EXPECT_NE(trace->find(" overrun\n"), std::string::npos) << "the ring buffer's LOST record";
  else
    EXPECT_NE(trace->find(" sq="), std::string::npos) << "stap numbers its records";
}

TEST_P(LossE2E, TensOfThousandsOfFramesAtTheDefaultSettingsAreAllSeen) {
  constexpr int kFrames = 30000;
  const json r = vm_run(
      {"--frames", std::to_string(kFrames), "--tpacket", "v2", "--ring-frames", "256"}, false);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(last_.status.code, 0) << r["anomalies"].dump(2) << r["loss"].dump(2);
  EXPECT_EQ(r["verdict"], "ok");
  EXPECT_FALSE(r["loss"]["any"].get<bool>()) << r["loss"].dump(2);
  EXPECT_EQ(r["summary"]["completed"], kFrames);
  EXPECT_EQ(r["frames_total"], kFrames);
  EXPECT_EQ(probe(r, "snd.len_sum")["records"], kFrames);
  EXPECT_EQ(probe(r, "destruct.set_available")["records"], kFrames);
  for (const char* p : {"request_seen", "sending", "xmit", "destruct", "available"})
    EXPECT_EQ(phase(r, p)["frames"], kFrames) << p;
  EXPECT_NE(last_.err.find("trace buffer: "), std::string::npos) << last_.err;
}

INSTANTIATE_TEST_SUITE_P(Tracers, LossE2E,
                         ::testing::Values(Tracer{"stap", "1M"}, Tracer{"kprobe", "8K"}),
                         [](const auto& param_info) { return param_info.param.backend; });

} // namespace
} // namespace harness
