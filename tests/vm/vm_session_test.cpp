#include "vm/vm_session.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace harness::vm {
namespace {

using namespace harness::kernel;

TEST(VmSession, HarnessRunJob) {
  const auto job = harness_run_job("/b/harness", "/s/m.ko", "/s/m.plan.json", "/s/run",
                                   {"--frames", "2", "--tpacket", "v3"}, false);
  ASSERT_EQ(job.steps.size(), 1u);
  EXPECT_EQ(job.result_step, "run");
  EXPECT_EQ(job.steps[0].argv,
            (std::vector<std::string>{"/b/harness", "run", "--module", "/s/m.ko", "--plan",
                                      "/s/m.plan.json", "--out", "/s/run", "--frames", "2",
                                      "--tpacket", "v3", "--veth"}));
  EXPECT_FALSE(job.veth); // `harness run --veth` makes its own pair
  const auto kvm = harness_run_job("/b/harness", "/s/m.ko", "", "/s/run", {"--veth"}, true);
  const auto& argv = kvm.steps[0].argv;
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--veth"), 1);
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--plan"), argv.end());
  EXPECT_TRUE(kvm.echo_output);
  const auto lo = harness_run_job("/b/harness", "/s/m.ko", "", "/s/run", {"--iface", "lo"}, false);
  EXPECT_EQ(std::count(lo.steps[0].argv.begin(), lo.steps[0].argv.end(), "--veth"), 0);
}

// `run --exec -- PROGRAM ARGS`: harness's --veth goes before the `--`, and the program's own
// arguments (even one spelled --iface) are left as they are.
TEST(VmSession, HarnessRunJobKeepsTheExecProgramsArgv) {
  const auto job = harness_run_job("/b/harness", "/s/m.kprobes", "", "/s/run",
                                   {"--exec", "--", "/s/pm", "--iface", "{iface}"}, false);
  EXPECT_EQ(
      job.steps[0].argv,
      (std::vector<std::string>{"/b/harness", "run", "--kprobes", "/s/m.kprobes", "--out", "/s/run",
                                "--exec", "--veth", "--", "/s/pm", "--iface", "{iface}"}));
}

TEST(VmSession, TimestampedDirectories) {
  const auto d = timestamped_dir("/var/tmp", "vm");
  EXPECT_TRUE(d.starts_with("/var/tmp/vm-20")) << d;
  EXPECT_NE(d, timestamped_dir("/var/tmp", "other"));
}

} // namespace
} // namespace harness::vm
