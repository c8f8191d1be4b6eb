#include "base/child_proc.hpp"
#include "base/signals.hpp"

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace harness;
using namespace std::chrono_literals;

TEST(ChildProc, CapturesStdoutLinesSeparatelyFromStderr) {
  std::vector<std::string> out, err;
  auto c = spawn({.exe = "printf",
                  .args = {"a\\nb\\npartial"},
                  .on_stdout = [&](std::string_view l) { out.emplace_back(l); },
                  .on_stderr =
                      [&](std::string_view l) {
                        err.emplace_back(l);
                      }});
  ASSERT_TRUE(c) << format_error(c.error());
  auto st = (*c)->wait(5s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->success());
  EXPECT_EQ(out, (std::vector<std::string>{"a", "b", "partial"}));
  EXPECT_TRUE(err.empty());
}

TEST(ChildProc, ReportsExitCode) {
  auto r = run_captured({.exe = "false"}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 1);
  EXPECT_EQ(r->status.describe(), "exit status 1");
}

TEST(ChildProc, MissingProgramIsAnError) {
  auto c = spawn({.exe = "definitely-not-a-program-harness"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().why.find("not found"), std::string::npos);
}

TEST(ChildProc, WaitTimesOutThenTerminateReaps) {
  auto c = spawn({.exe = "sleep", .args = {"30"}});
  ASSERT_TRUE(c);
  EXPECT_FALSE((*c)->wait(100ms));
  const pid_t pid = (*c)->pid();
  auto st = (*c)->terminate(500ms);
  EXPECT_EQ(st.signal, SIGINT);
  EXPECT_NE(::kill(pid, 0), 0) << "child still exists after terminate";
}

TEST(ChildProc, RunsInItsOwnProcessGroup) {
  auto c = spawn({.exe = "sleep", .args = {"30"}});
  ASSERT_TRUE(c);
  EXPECT_EQ(::getpgid((*c)->pid()), (*c)->pid());
  (*c)->terminate(500ms);
}

TEST(ChildProc, EnvironmentOverride) {
  auto r = run_captured(
      {.exe = "printenv", .args = {"HARNESS_TEST_VAR"}, .env = {{"HARNESS_TEST_VAR", "x y"}}}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "x y\n");
}

TEST(ChildProc, WaitReturnsEarlyOnInterrupt) {
  install_interrupt_handlers();
  auto c = spawn({.exe = "sleep", .args = {"30"}});
  ASSERT_TRUE(c);
  ::raise(SIGTERM);
  // A day: only the interrupt can end this wait early; if it is ignored, CTest's timeout
  // reports the hang. The child must still be running (the wait did not end by its exit).
  EXPECT_FALSE((*c)->wait(24h));
  EXPECT_EQ(::kill((*c)->pid(), 0), 0) << "the child was not waited for to its end";
  EXPECT_EQ(interrupt_signal(), SIGTERM);
  clear_interrupt();
  (*c)->terminate(500ms);
}

TEST(ChildProc, DescribeCommandQuotes) {
  EXPECT_EQ(describe_command({.exe = "stap", .args = {"-e", "probe begin {}"}}),
            "stap -e 'probe begin {}'");
}

namespace {

// Running means: /proc/PID exists and the process is not a zombie (a reaper may be slow).
bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line))
    return false;
  const auto rp = line.rfind(')');
  return rp != std::string::npos && rp + 2 < line.size() && line[rp + 2] != 'Z';
}

} // namespace

TEST(ChildProc, ChildrenDieWithAParentKilledBySigkill) {
  // The parent: a forked copy of this test that starts `sleep` the way harness starts stap,
  // then is killed with SIGKILL (no destructor, no handler runs).
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::close(fds[0]);
    auto c = spawn({.exe = "sleep", .args = {"600"}});
    const pid_t pid = c ? (*c)->pid() : -1;
    (void)!::write(fds[1], &pid, sizeof pid);
    for (;;)
      ::pause();
  }
  ::close(fds[1]);
  pid_t sleeper = -1;
  ASSERT_EQ(::read(fds[0], &sleeper, sizeof sleeper), static_cast<ssize_t>(sizeof sleeper));
  ::close(fds[0]);
  ASSERT_GT(sleeper, 0);
  EXPECT_TRUE(running(sleeper));
  ::kill(parent, SIGKILL);
  ::waitpid(parent, nullptr, 0);
  // The death signal is delivered when the parent exits; waiting for it is bounded, not timed.
  for (int i = 0; i < 1000 && running(sleeper); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(running(sleeper)) << "sleep " << sleeper << " outlived its parent";
  ::kill(sleeper, SIGKILL);
}
