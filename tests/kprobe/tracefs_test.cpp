// The names the kprobe tracer owns and the stale-run cleanup, on a directory laid out like
// tracefs (the host kernel has no kprobes; the real tracefs is exercised in the VM e2e tests).
#include "base/files.hpp"
#include "kprobe/tracefs.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace harness::kprobe {
namespace {

namespace fs = std::filesystem;

TEST(Tracefs, OwnedNames) {
  EXPECT_EQ(owned_name(42), "harness_42");
  EXPECT_EQ(owner_of("harness_42"), 42);
  for (const char* n : {"harness_", "harness_x", "harness_4x", "probe", "harness_-1", "hx_42"})
    EXPECT_EQ(owner_of(n), -1) << n;
}

TEST(Tracefs, KprobeEventsEntries) {
  const auto e = kprobe_events_entries("p:harness_7/snd_len_sum tpacket_snd+2340 ph=+96(%sp):x64\n"
                                       "r:kprobes/myretprobe do_sys_open $retval\n"
                                       "garbage\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], (std::pair<std::string, std::string>{"harness_7", "snd_len_sum"}));
  EXPECT_EQ(e[1], (std::pair<std::string, std::string>{"kprobes", "myretprobe"}));
}

// A plain directory stands in for tracefs: writes to kprobe_events append lines there, which
// shows exactly what the cleanup asks the kernel to remove.
TEST(Tracefs, RemoveStaleTouchesOnlyDeadHarnessRuns) {
  const std::string root = testing::TempDir() + "/fake-tracefs-" + std::to_string(::getpid());
  fs::remove_all(root);
  fs::create_directories(root + "/instances/harness_111");
  fs::create_directories(root + "/instances/harness_222");
  fs::create_directories(root + "/instances/someone_else");
  ASSERT_TRUE(write_file_atomic(root + "/kprobe_events", "p:harness_111/snd_len_sum tpacket_snd+1\n"
                                                         "p:harness_222/snd_len_sum tpacket_snd+1\n"
                                                         "p:kprobes/theirs do_sys_open\n"));
  Tracefs t(root);
  std::vector<std::string> said;
  auto removed = remove_stale(
      t, [](pid_t p) { return p == 222; }, [&](const std::string& l) { said.push_back(l); });
  ASSERT_TRUE(removed) << removed.error().why;
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(fs::exists(root + "/instances/harness_111"));
  EXPECT_TRUE(fs::exists(root + "/instances/harness_222"));
  EXPECT_TRUE(fs::exists(root + "/instances/someone_else"));
  auto events = read_file(root + "/kprobe_events");
  ASSERT_TRUE(events);
  EXPECT_NE(events->find("-:harness_111/snd_len_sum"), std::string::npos);
  EXPECT_EQ(events->find("-:harness_222"), std::string::npos);
  EXPECT_EQ(events->find("-:kprobes"), std::string::npos);
  EXPECT_EQ(said.size(), 2u);
  fs::remove_all(root);
}

// A SIGKILLed run whose parent never reaps it stays a zombie with its pid: it owns nothing.
TEST(Tracefs, ZombieIsNotAlive) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    ::_exit(0);
  // Wait until it has exited without reaping it: its state turns Z.
  for (;;) {
    auto stat = read_file("/proc/" + std::to_string(child) + "/stat");
    ASSERT_TRUE(stat);
    if (stat->find(") Z ") != std::string::npos)
      break;
    ::sched_yield();
  }
  EXPECT_FALSE(process_alive(child));
  EXPECT_TRUE(process_alive(::getpid()));
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_alive(child));
}

// What the instance lost, per CPU, and the probes' hits and misses (issue 26), read as the kernel
// writes them (kernel/trace/trace.c tracing_stats_read, trace_kprobe.c probes_profile_seq_show).
TEST(Tracefs, RingBufferLossesAndTheKprobeProfile) {
  const std::string root = testing::TempDir() + "/fake-tracefs-loss-" + std::to_string(::getpid());
  fs::remove_all(root);
  const std::string cpu = root + "/instances/harness_1/per_cpu/cpu";
  fs::create_directories(cpu + "0");
  fs::create_directories(cpu + "1");
  fs::create_directories(cpu + "2");
  ASSERT_TRUE(write_file_atomic(cpu + "0/stats", "entries: 0\noverrun: 0\ncommit overrun: 7\n"
                                                 "bytes: 0\ndropped events: 0\n"));
  ASSERT_TRUE(write_file_atomic(cpu + "1/stats", "entries: 12\noverrun: 4000\ncommit overrun: 0\n"
                                                 "dropped events: 5\nread events: 9\n"));
  ASSERT_TRUE(write_file_atomic(cpu + "2/stats", "entries: 1\noverrun: 3\n"));
  const Tracefs tfs(root);
  const auto lost = ring_buffer_losses(tfs, "harness_1");
  EXPECT_EQ(lost, (std::map<std::uint32_t, std::uint64_t>{{1, 4005}, {2, 3}}));
  EXPECT_TRUE(ring_buffer_losses(tfs, "harness_2").empty());

  ASSERT_TRUE(write_file_atomic(root + "/kprobe_profile",
                                "  snd_len_sum                                     100"
                                "               2\n"
                                "  snd_start                                        10"
                                "               0\n"
                                "  other_tool_event                                  5"
                                "               9\n"));
  auto p = kprobe_profile(tfs, {"snd_len_sum", "snd_start"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->hits, 110u);
  EXPECT_EQ(p->misses, 2u);
  EXPECT_FALSE(kprobe_profile(tfs, {"snd_len_sum", "not_there"}));
  // Another group's event of the same name: the lines cannot be told apart.
  ASSERT_TRUE(write_file_atomic(root + "/kprobe_profile", "  snd_start 10 0\n  snd_start 3 1\n"));
  EXPECT_FALSE(kprobe_profile(tfs, {"snd_start"}));
  fs::remove_all(root);
}

} // namespace
} // namespace harness::kprobe
