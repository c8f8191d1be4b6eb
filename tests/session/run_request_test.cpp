// The refusals of a run's options (run_request.hpp) that the command-line tests (tests/cli) do
// not reach: each names the options and the value, with a hint, as Exit::usage.
#include "harness/session/run_request.hpp"

#include <gtest/gtest.h>

using namespace harness;
using namespace harness::session;

namespace {

void expect_refusal(const Status& s, const std::string& what, const std::string& why) {
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::usage);
  EXPECT_EQ(s.error().what, what);
  EXPECT_EQ(s.error().why, why);
  EXPECT_FALSE(s.error().hint.empty());
}

RunOptions exec_options() {
  RunOptions o;
  o.exec = true;
  o.dashes = true;
  return o;
}

RunRequest exec_request() {
  RunRequest req;
  req.exec = {"/bin/true"};
  return req;
}

TEST(RunRequest, ExecKeepsOnlyTheSenderOptionsThatSayWhereItRuns) {
  RunOptions o = exec_options();
  o.sender_options = {"veth", "netns"};
  o.iface = true;
  EXPECT_TRUE(check_workload(exec_request(), o));
  o.sender_options = {"veth", "size", "count"};
  expect_refusal(check_workload(exec_request(), o), "--size",
                 "is an option of the built-in sender, not of --exec");
}

TEST(RunRequest, PidTakesNoInterface) {
  RunOptions o;
  o.pid = 1;
  o.iface = true;
  expect_refusal(check_workload(RunRequest{}, o), "--pid and IFACE", "exclude each other");
  o.iface = false;
  EXPECT_TRUE(check_workload(RunRequest{}, o));
}

TEST(RunRequest, WorkloadTakesThePidAndTheDuration) {
  RunRequest req;
  RunOptions o;
  o.pid = 4194304;
  o.duration_s = 2.5;
  ASSERT_TRUE(set_workload(req, o));
  EXPECT_EQ(req.attach_pid, 4194304u);
  EXPECT_EQ(req.duration, std::chrono::milliseconds(2500));
  o.pid = 4194305;
  expect_refusal(set_workload(req, o), "--pid 4194305", "is not a process id");
}

TEST(RunRequest, PlanOnlyGoesWithPrebuiltProbes) {
  RunRequest req;
  req.plan_path = "probes.plan.json";
  expect_refusal(check_plan(req), "--plan", "only goes with prebuilt probes (--module, --kprobes)");
  req.artifact = "probes.kprobes";
  EXPECT_TRUE(check_plan(req));
}

TEST(RunRequest, NoPaceOnlyGoesWithTheBuiltInSender) {
  for (const bool attach : {false, true}) {
    RunRequest req = attach ? RunRequest{} : exec_request();
    req.pace = false;
    RunOptions o = attach ? RunOptions{} : exec_options();
    if (attach)
      o.pid = 1;
    expect_refusal(set_waits(req, o), "--no-pace", "only goes with the built-in sender");
  }
  RunRequest req;
  req.pace = false;
  EXPECT_TRUE(set_waits(req, RunOptions{}));
}

TEST(RunRequest, WaitsAreCheckedInTheOrderOfTheOptions) {
  RunRequest req;
  RunOptions o;
  o.ready_s = 0.5;
  o.settle_s = 86401;
  o.grace_s = 0;
  expect_refusal(set_waits(req, o), "--settle-timeout 86401",
                 "must be a number of seconds from 0.001 to 86400");
  o.settle_s = 1;
  o.grace_s = 2;
  ASSERT_TRUE(set_waits(req, o));
  EXPECT_EQ(req.ready_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(req.settle_timeout, std::chrono::seconds(1));
  EXPECT_EQ(req.stop_grace, std::chrono::seconds(2));
}

} // namespace
