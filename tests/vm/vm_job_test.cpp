#include "vm/vm_job.hpp"

#include <gtest/gtest.h>

namespace harness::vm {
namespace {

GuestJob sample() {
  GuestJob job;
  job.env = {{"HARNESS_X", "1"}};
  job.veth = true;
  job.veth_names = {"hxv0", "hxv1"};
  GuestStep probes{"probes", {"staprun", "/x/m.ko"}, true, "HX1 READY", 30000, "send"};
  GuestStep send{"send", {"/bin/harness", "send", "--veth"}, false, "", 60000, ""};
  job.steps = {probes, send};
  job.result_step = "send";
  job.echo_output = true;
  return job;
}

TEST(VmJob, RoundTrips) {
  const auto job = sample();
  auto back = job_from_json(job_to_json(job), "job.json");
  ASSERT_TRUE(back) << back.error().why;
  EXPECT_EQ(back->env, job.env);
  EXPECT_TRUE(back->veth);
  EXPECT_EQ(back->veth_names.rx, "hxv1");
  ASSERT_EQ(back->steps.size(), 2u);
  EXPECT_EQ(back->steps[0].argv, job.steps[0].argv);
  EXPECT_TRUE(back->steps[0].background);
  EXPECT_EQ(back->steps[0].ready_text, "HX1 READY");
  EXPECT_EQ(back->steps[0].stop_after, "send");
  EXPECT_EQ(back->steps[1].timeout_ms, 60000);
  EXPECT_EQ(back->result_step, "send");
  EXPECT_TRUE(back->echo_output);
}

TEST(VmJob, RejectsBadJobs) {
  EXPECT_FALSE(job_from_json("not json", "j"));
  EXPECT_FALSE(job_from_json(R"({"schema":"other/1"})", "j"));
  auto with = [](auto mutate) {
    auto job = sample();
    mutate(job);
    return job_from_json(job_to_json(job), "job.json");
  };
  EXPECT_FALSE(with([](GuestJob& j) { j.steps[1].name = "probes"; })); // duplicate
  EXPECT_FALSE(with([](GuestJob& j) { j.steps[1].name = "../evil"; }));
  EXPECT_FALSE(with([](GuestJob& j) { j.steps[1].argv.clear(); }));
  EXPECT_FALSE(with([](GuestJob& j) { j.steps[1].timeout_ms = 0; }));
  EXPECT_FALSE(with([](GuestJob& j) { j.result_step = "nope"; }));
  EXPECT_FALSE(with([](GuestJob& j) { j.veth_names.tx = "a-name-far-too-long-for-linux"; }));
  EXPECT_FALSE(with([](GuestJob& j) { j.veth_names.rx = j.veth_names.tx; }));
  EXPECT_FALSE(with([](GuestJob& j) { j.steps[0].stop_after = "nope"; }));
  EXPECT_FALSE(with([](GuestJob& j) { j.env.emplace_back("A=B", "c"); }));
  auto e = with([](GuestJob& j) { j.steps[1].argv.clear(); });
  EXPECT_EQ(e.error().code, Exit::vm_failed);
  EXPECT_NE(e.error().why.find("send"), std::string::npos);
}

TEST(VmJob, StatusRoundTrips) {
  GuestStatus st;
  st.kernel = "6.1.192";
  st.result = 3;
  st.uptime_ms = 4200;
  StepOutcome o;
  o.name = "run";
  o.exit_code = 3;
  o.started = true;
  o.elapsed_ms = 1234;
  st.steps = {o};
  auto back = status_from_json(status_to_json(st), "status.json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->result, 3);
  EXPECT_EQ(back->kernel, "6.1.192");
  ASSERT_EQ(back->steps.size(), 1u);
  EXPECT_EQ(back->steps[0].elapsed_ms, 1234);
  EXPECT_FALSE(status_from_json(R"({"schema":"harness.vmstatus/1"})", "s"));
  EXPECT_FALSE(status_from_json("{\"schema\":\"harness.vmstatus/1\",\"steps\":[", "s"));
}

TEST(VmJob, Names) {
  EXPECT_TRUE(valid_step_name("probes-v2"));
  EXPECT_FALSE(valid_step_name(""));
  EXPECT_FALSE(valid_step_name(".hidden"));
  EXPECT_FALSE(valid_step_name("a/b"));
  EXPECT_TRUE(valid_ifname("hxv0"));
  EXPECT_FALSE(valid_ifname("0123456789abcdef"));
}

} // namespace
} // namespace harness::vm
