// The guest init's job runner, outside a VM (--not-init semantics): real child processes, a
// real share directory, the status file and console markers it produces.
#include "kernel_test_util.hpp"
#include "vm/console_log.hpp"
#include "vm/guest_init.hpp"

#include <gtest/gtest.h>

namespace harness::vm {
namespace {

using TempDir = harness::testing::VarTmpDir;

struct Run {
  Result<GuestStatus> status;
  std::string console;
};

Run run_job(const TempDir& share, const GuestJob& job) {
  EXPECT_TRUE(write_file_atomic(share.file("job.json"), job_to_json(job)));
  std::string console;
  GuestOptions opts;
  opts.share = share.path();
  opts.not_init = true;
  auto st = run_guest_job(opts, [&](std::string_view l) { console.append(l).push_back('\n'); });
  return {std::move(st), console};
}

const StepOutcome* outcome(const GuestStatus& st, const std::string& name) {
  for (const auto& s : st.steps)
    if (s.name == name)
      return &s;
  return nullptr;
}

// `tail -f` of a file holding "READY": prints the ready line, then runs until signalled, like
// staprun printing the READY record and waiting for SIGINT.
GuestStep background(const TempDir& share, const std::string& stop_after) {
  (void)write_file_atomic(share.file("ready.txt"), "READY\n");
  return GuestStep{"probes", {"tail", "-n", "+1", "-f", share.file("ready.txt")},
                   true,     "READY",
                   10000,    stop_after};
}

TEST(GuestInit, RunsStepsStopsBackgroundAndWritesStatus) {
  TempDir share;
  GuestJob job;
  job.steps = {background(share, "first"),
               {"first", {"echo", "hello from the guest"}, false, "", 10000, ""},
               {"second", {"false"}, false, "", 10000, ""}};
  job.echo_output = true;
  auto r = run_job(share, job);
  ASSERT_TRUE(r.status) << r.status.error().why;
  EXPECT_EQ(r.status->result, 1); // the last foreground step: false
  const auto* probes = outcome(*r.status, "probes");
  ASSERT_TRUE(probes);
  EXPECT_TRUE(probes->ready);
  EXPECT_TRUE(probes->started);
  EXPECT_TRUE(probes->signal != 0 || probes->exit_code != 0); // stopped by harness
  EXPECT_EQ(outcome(*r.status, "first")->exit_code, 0);
  EXPECT_EQ(*read_file(share.file("first.stdout")), "hello from the guest\n");
  EXPECT_EQ(*read_file(share.file("probes.stdout")), "READY\n");
  auto saved = status_from_json(*read_file(share.file("status.json")), "status.json");
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->result, 1);
  // The background step was stopped right after `first`, before `second` started.
  const auto probes_start = r.console.find("HXVM STEP probes start");
  const auto probes_stop = r.console.find("HXVM STEP probes ", probes_start + 1);
  EXPECT_NE(r.console.find("first| hello from the guest"), std::string::npos);
  EXPECT_LT(probes_start, r.console.find("HXVM STEP first start"));
  EXPECT_LT(probes_stop, r.console.find("HXVM STEP second start")) << r.console;
}

TEST(GuestInit, BackgroundNeverReadySkipsTheRest) {
  TempDir share;
  GuestJob job;
  job.steps = {{"probes", {"true"}, true, "READY", 5000, ""},
               {"send", {"echo", "x"}, false, "", 5000, ""}};
  auto r = run_job(share, job);
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->result, -1); // the result step never ran
  EXPECT_NE(outcome(*r.status, "probes")->error.find("exited before it was ready"),
            std::string::npos);
  EXPECT_NE(outcome(*r.status, "send")->error.find("not run"), std::string::npos);
  EXPECT_NE(r.console.find("HXVM ERROR step probes"), std::string::npos);
}

TEST(GuestInit, ForegroundTimeoutAndMissingProgram) {
  TempDir share;
  GuestJob job;
  job.steps = {{"missing", {"/nonexistent/program"}, false, "", 5000, ""},
               {"slow", {"sleep", "86400"}, false, "", 300, ""}};
  auto r = run_job(share, job);
  ASSERT_TRUE(r.status);
  const auto* missing = outcome(*r.status, "missing");
  EXPECT_FALSE(missing->started);
  EXPECT_NE(missing->error.find("not found"), std::string::npos);
  const auto* slow = outcome(*r.status, "slow");
  // The step sleeps a day: only its 300 ms timeout ends it (else CTest's timeout reports
  // the hang).
  EXPECT_TRUE(slow->timed_out);
  EXPECT_NE(r.console.find("HXVM STEP slow timeout"), std::string::npos);
}

TEST(GuestInit, BadJobIsAnError) {
  TempDir share;
  ASSERT_TRUE(write_file_atomic(share.file("job.json"), "{\"schema\":\"harness.vmjob/1\"}"));
  GuestOptions opts{share.path(), true};
  auto st = run_guest_job(opts, [](std::string_view) {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Exit::vm_failed);
  GuestOptions none{share.file("no-such-dir"), true};
  EXPECT_FALSE(run_guest_job(none, [](std::string_view) {}));
}

} // namespace
} // namespace harness::vm
