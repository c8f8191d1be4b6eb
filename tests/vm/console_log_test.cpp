#include "vm/console_log.hpp"

#include <gtest/gtest.h>

namespace harness::vm {
namespace {

constexpr std::string_view kBanner =
    "SeaBIOS (version 1.16.2)\n"
    "[    0.000000] Linux version 6.1.192 (root@vm) (gcc (Debian 12.2.0-14) 12.2.0)\n"
    "[    1.526075] Run /work/build/bin/harness as init process\n";

TEST(ConsoleLog, FinishedRun) {
  const std::string log =
      std::string(kBanner) +
      "HXVM READY 1573\r\nHXVM STEP run start\nrun| some output\n"
      "HXVM STEP run exit 1\nHXVM DONE 1\n[    4.1] reboot: Restarting system\n";
  const auto f = scan_console(log);
  EXPECT_EQ(f.verdict, ConsoleVerdict::ok);
  EXPECT_TRUE(f.ready);
  EXPECT_TRUE(f.done);
  EXPECT_EQ(f.done_result, 1);
  EXPECT_EQ(f.last_step, "run");
  EXPECT_EQ(explain(f), "the guest finished");
}

TEST(ConsoleLog, PanicDuringAStep) {
  const std::string log = std::string(kBanner) +
                          "HXVM READY 1500\nHXVM STEP probes start\n"
                          "[    3.2] BUG: unable to handle page fault\n"
                          "[    3.3] Kernel panic - not syncing: Fatal exception in interrupt\n"
                          "[    3.3] Kernel Offset: disabled\n";
  const auto f = scan_console(log);
  EXPECT_EQ(f.verdict, ConsoleVerdict::panic);
  EXPECT_EQ(f.panic_line, "Kernel panic - not syncing: Fatal exception in interrupt");
  EXPECT_NE(explain(f).find("during step probes"), std::string::npos);
  EXPECT_EQ(f.tail.back(), "[    3.3] Kernel Offset: disabled");
}

TEST(ConsoleLog, InitDiedBeforeReady) {
  const std::string log = std::string(kBanner) +
                          "[ 2.3] Kernel panic - not syncing: Attempted to kill init! "
                          "exitcode=0x00000100\n";
  const auto f = scan_console(log);
  EXPECT_EQ(f.verdict, ConsoleVerdict::panic);
  EXPECT_NE(explain(f).find("before the guest init was ready"), std::string::npos);
}

TEST(ConsoleLog, HowFarItGotWithoutReady) {
  EXPECT_EQ(scan_console("").verdict, ConsoleVerdict::no_kernel);
  EXPECT_EQ(scan_console("SeaBIOS\nBooting from ROM...\n").verdict, ConsoleVerdict::no_kernel);
  EXPECT_EQ(scan_console("[ 0.0] Linux version 6.1\n[ 1.0] VFS: Cannot open root device\n").verdict,
            ConsoleVerdict::no_init);
  EXPECT_EQ(scan_console(kBanner).verdict, ConsoleVerdict::no_ready);
  const auto f = scan_console(std::string(kBanner) + "HXVM READY 1\nHXVM STEP run start\n");
  EXPECT_EQ(f.verdict, ConsoleVerdict::unfinished);
  EXPECT_NE(explain(f).find("last step started: run"), std::string::npos);
}

TEST(ConsoleLog, GuestErrorsAndQuietKernels) {
  // loglevel could hide the banner: a ready marker alone implies the earlier stages.
  const auto f = scan_console("HXVM READY 10\nHXVM ERROR guest mount 9p on /x: No such file\n");
  EXPECT_TRUE(f.kernel_started);
  EXPECT_TRUE(f.init_started);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0], "guest mount 9p on /x: No such file");
  // Markers must be whole words at the start of a line.
  EXPECT_FALSE(scan_console("run| echo HXVM READY\nHXVM READYX\n").ready);
  EXPECT_FALSE(scan_console("HXVM DONE x\n").done_result.has_value());
}

} // namespace
} // namespace harness::vm
