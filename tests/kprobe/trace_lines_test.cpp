// tracefs lines -> harness records, checked against hand-written expected records.
#include "kprobe/trace_lines.hpp"

#include <gtest/gtest.h>

namespace harness::kprobe {
namespace {

probes::ProbePlan plan_with(std::vector<probes::PlannedProbe> probes) {
  probes::ProbePlan p;
  p.plan_id = "0123456789abcdef";
  p.kernel = "6.1.192";
  p.anchors = std::move(probes);
  return p;
}

// One event, snd.len_sum fetching ph at one address, and a plan asking for ph alone.
KprobeDefs len_sum_defs() {
  KprobeDefs defs;
  defs.events = {{"snd.len_sum", "snd_len_sum", "tpacket_snd+1", {"ph=%di:x64"}}};
  return defs;
}
probes::ProbePlan len_sum_plan() {
  probes::PlannedProbe p;
  p.anchor = "snd.len_sum";
  p.fields = {"ph"};
  return plan_with({p});
}

TEST(TracefsLine, SplitsTheFixedPart) {
  auto t = parse_tracefs_line("         harness-41      [000] .....     4.677919: snd_len_sum: "
                              "(tpacket_snd+0xa4f/0xaf0) ph=0xffff88800086a000 head=2 tp_len=150");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->comm, "harness");
  EXPECT_EQ(t->tid, 41u);
  EXPECT_FALSE(t->tgid);
  EXPECT_EQ(t->cpu, 0u);
  EXPECT_EQ(t->ts_ns, 4'677'919'000u);
  EXPECT_EQ(t->event, "snd_len_sum");
  EXPECT_EQ(t->rest, "(tpacket_snd+0xa4f/0xaf0) ph=0xffff88800086a000 head=2 tp_len=150");
}

TEST(TracefsLine, CommWithDashesSpacesAndTgid) {
  auto t =
      parse_tracefs_line(" kworker/0:1-ev ents-1234 (   77) [003] d..1. 12.000000001: x: rest");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->comm, "kworker/0:1-ev ents");
  EXPECT_EQ(t->tid, 1234u);
  ASSERT_TRUE(t->tgid);
  EXPECT_EQ(*t->tgid, 77u);
  EXPECT_EQ(t->cpu, 3u);
  EXPECT_EQ(t->ts_ns, 12'000'000'001u);
}

// Times the trace format cannot hold (below 0 after the clock offset, or from 2^63 ns on) make
// no record: the trace parser would refuse it (found by fuzz_tracefs_lines).
TEST(LineTranslator, TimesOutsideTheTraceFormatMakeNoRecord) {
  LineTranslator back(len_sum_defs(), len_sum_plan(), -2'000'000'000);
  std::string out;
  EXPECT_FALSE(back.translate("h-7 [000] ..... 0.177471: snd_len_sum: (x+1/2) ph=0x1", out));
  EXPECT_FALSE(back.translate("h-7 [000] ..... 9300000000.0: snd_len_sum: (x+1/2) ph=0x1", out));
  EXPECT_TRUE(back.translate("h-7 [000] ..... 2.5: snd_len_sum: (x+1/2) ph=0x1", out));
  EXPECT_EQ(out, "HX1 EV 500000000 0 7 7 snd.len_sum ph=0x1\n");
  EXPECT_EQ(back.foreign(), 2u);
  LineTranslator ahead(len_sum_defs(), len_sum_plan(), 2'000'000'000);
  EXPECT_FALSE(ahead.translate("h-7 [000] ..... 9223372035.0: snd_len_sum: (x+1/2) ph=0x1", out));
}

TEST(TracefsLine, NotALine) {
  for (const char* l : {"", "# tracer: nop", "harness-41 [000] ..... notatime: e: x",
                        "harness-x [000] ..... 1.0: e: x", "CPU:0 [LOST 3 EVENTS]"})
    EXPECT_FALSE(parse_tracefs_line(l)) << l;
}

TEST(LineTranslator, WritesTheStapRecordWithUnreadableKeys) {
  KprobeDefs defs;
  defs.events = {{"snd.len_sum",
                  "snd_len_sum",
                  "tpacket_snd+2340",
                  {"ph=+96(%sp):x64", "tp_len=+132(%sp):s32"}}};
  probes::PlannedProbe p;
  p.anchor = "snd.len_sum";
  p.fields = {"ph", "pending", "tp_len"};
  LineTranslator tr(defs, plan_with({p}), 1'000'000'000,
                    [](std::uint32_t tid) { return tid == 41 ? 40u : tid; });
  std::string out;
  ASSERT_TRUE(tr.translate("harness-41 [001] ..... 4.677919: snd_len_sum: (tpacket_snd+0xa4f/"
                           "0xaf0) ph=0xffff88800086a000 tp_len=-5",
                           out));
  EXPECT_EQ(out,
            "HX1 EV 5677919000 1 40 41 snd.len_sum ph=0xffff88800086a000 pending=? tp_len=-5\n");
  EXPECT_FALSE(tr.translate("harness-41 [001] ..... 4.7: other_event: (x+0/0) ph=1", out));
  EXPECT_EQ(tr.hits_by_anchor().at("snd.len_sum"), 1u);
  EXPECT_EQ(tr.foreign(), 1u);
}

// With the instance's record-tgid option each line carries its process id, which wins over the
// /proc lookup (a thread that exited has none); `(-------)`, a task the kernel saved no tgid for,
// falls back to the lookup.
TEST(LineTranslator, TheLinesTgidColumnIsTheRecordsPid) {
  std::vector<std::uint32_t> looked_up;
  LineTranslator tr(len_sum_defs(), len_sum_plan(), 0, [&](std::uint32_t tid) {
    looked_up.push_back(tid);
    return tid; // the thread is gone: /proc has no Tgid for it
  });
  std::string out;
  ASSERT_TRUE(tr.translate(
      "packet_mmap-301 (    300) [000] ..... 1.000001: snd_len_sum: (x+1/2) ph=0x10", out));
  ASSERT_TRUE(tr.translate(
      "packet_mmap-302 (-------) [000] ..... 1.000002: snd_len_sum: (x+1/2) ph=0x20", out));
  EXPECT_EQ(out, "HX1 EV 1000001000 0 300 301 snd.len_sum ph=0x10\n"
                 "HX1 EV 1000002000 0 302 302 snd.len_sum ph=0x20\n");
  EXPECT_EQ(looked_up, std::vector<std::uint32_t>{302});
}

// perf places a probe on each address of a line; two of them in one function can fire for one
// execution (6.1 -O0: `if (unlikely(ph == NULL))` at tpacket_snd+1026 and +1038).
TEST(LineTranslator, OneExecutionSeenAtTwoAddressesIsOneRecord) {
  KprobeDefs defs;
  defs.events = {{"snd.ph_check", "snd_ph_check", "tpacket_snd+1026", {"ph=%di:x64"}},
                 {"snd.ph_check", "snd_ph_check_1", "tpacket_snd+1038", {"ph=%di:x64"}}};
  probes::PlannedProbe p;
  p.anchor = "snd.ph_check";
  p.fields = {"ph"};
  LineTranslator tr(defs, plan_with({p}), 0);
  std::string out;
  EXPECT_TRUE(tr.translate("h-7 [000] ..... 1.000001: snd_ph_check: (x+1/2) ph=0x0", out));
  EXPECT_FALSE(tr.translate("h-7 [000] ..... 1.000002: snd_ph_check_1: (x+3/2) ph=0x0", out));
  // The same address again is a second execution (a loop), and so is another thread's.
  EXPECT_TRUE(tr.translate("h-7 [000] ..... 1.000003: snd_ph_check: (x+1/2) ph=0x0", out));
  EXPECT_TRUE(tr.translate("h-8 [000] ..... 1.000004: snd_ph_check_1: (x+3/2) ph=0x0", out));
  EXPECT_EQ(tr.repeats(), 1u);
  EXPECT_EQ(tr.hits_by_anchor().at("snd.ph_check"), 3u);
}

TEST(LineTranslator, ValuesThatAreNotNumbersBecomeUnreadable) {
  LineTranslator tr(len_sum_defs(), len_sum_plan(), 0);
  std::string out;
  ASSERT_TRUE(tr.translate("h-7 [000] ..... 1.000001: snd_len_sum: (x+1/2) ph=(fault)", out));
  EXPECT_EQ(out, "HX1 EV 1000001000 0 7 7 snd.len_sum ph=?\n");
  // Hex letters without 0x (found by fuzz_tracefs_lines: the trace parser rejected the record),
  // 0x alone, more hex digits than 64 bits, decimals beyond 64 bits (found by it too).
  for (const char* v :
       {"12ffff88800069c000", "0x", "0x12345678901234567", "-", "21111110111111111111",
        "-9223372036854775809", "-001722586675415205616", "+1", "0X", "1e3"}) {
    out.clear();
    ASSERT_TRUE(
        tr.translate(std::string("h-7 [000] ..... 1.000001: snd_len_sum: (x+1/2) ph=") + v, out));
    EXPECT_EQ(out, "HX1 EV 1000001000 0 7 7 snd.len_sum ph=?\n") << v;
  }
  // The edges the trace format still holds pass through: the trace parser's grammar decides
  // (parse_trace_number), which also reads upper-case hex.
  for (const char* v : {"-12", "-9223372036854775808", "18446744073709551615",
                        "00000000000000000001", "0xffffffffffffffff", "0xABC"}) {
    out.clear();
    ASSERT_TRUE(
        tr.translate(std::string("h-7 [000] ..... 1.000001: snd_len_sum: (x+1/2) ph=") + v, out));
    EXPECT_EQ(out, std::string("HX1 EV 1000001000 0 7 7 snd.len_sum ph=") + v + "\n");
  }
}

// The workload's names (a foreign program's, a --pid's threads), as the kernel keeps them (15
// bytes), never the reading thread; anything a filter glob could read otherwise becomes `?`.
TEST(SchedSwitchFilter, TheWorkloadsCommsButNotTheReader) {
  EXPECT_EQ(sched_switch_filter({}, 41), "(prev_comm ~ \"harness\") && prev_pid != 41");
  EXPECT_EQ(sched_switch_filter({"packet_mmap", "sender thread", "packet_mmap"}, 7),
            "(prev_comm ~ \"packet_mmap\" || prev_comm ~ \"sender?thread\") && prev_pid != 7");
  EXPECT_EQ(sched_switch_filter({"a_very_long_program_name", "x\"*"}, 1),
            "(prev_comm ~ \"a_very_long_pro\" || prev_comm ~ \"x??\") && prev_pid != 1");
}

// The names of threads entering tpacket_snd, once each and at most kMaxSenderComms: the session
// lets their sleeps through its sched_switch filter (a --pid program that exec'd after attach).
TEST(LineTranslator, NamesThreadsEnteringTpacketSnd) {
  probes::PlannedProbe sleep{"sched.sleep", "", 0, "", "", false, {"state"}};
  probes::PlannedProbe start{"snd.start", "tpacket_snd", 1, "", "", false, {"po"}};
  KprobeDefs defs;
  defs.events = {{"snd.start", "snd_start", "tpacket_snd+17", {"po=%di:x64"}}};
  LineTranslator tr(defs, plan_with({sleep, start}), 0);
  std::string out;
  for (const char* line : {"sh-40 (40) [000] ..... 1.0: snd_start: (tpacket_snd+17/9) po=0x1",
                           "packet_mmap-40 (40) [000] ..... 1.1: snd_start: (x+1/9) po=0x1",
                           "send er-41 (40) [000] ..... 1.2: snd_start: (x+1/9) po=0x1",
                           "packet_mmap-40 (40) [000] ..... 1.3: snd_start: (x+1/9) po=0x1"})
    ASSERT_TRUE(tr.translate(line, out)) << line;
  EXPECT_EQ(tr.sender_comms(), (std::vector<std::string>{"sh", "packet_mmap", "send er"}));
  for (int i = 0; i < 100; ++i)
    tr.translate("t" + std::to_string(i) + "-50 [000] ..... 2.0: snd_start: (x+1/9) po=0x1", out);
  EXPECT_EQ(tr.sender_comms().size(), LineTranslator::kMaxSenderComms);
}

TEST(LineTranslator, SchedSwitchSleepsInsideTpacketSndOnlyNotPreemptions) {
  probes::PlannedProbe p;
  p.anchor = "sched.sleep";
  p.fields = {"state"};
  probes::PlannedProbe start{"snd.start", "tpacket_snd", 1, "", "", false, {"po"}};
  probes::PlannedProbe ret{"snd.return", "tpacket_snd", 9, "", "", true, {"po"}};
  KprobeDefs defs;
  defs.events = {{"snd.start", "snd_start", "tpacket_snd+17", {"po=%di:x64"}},
                 {"snd.return", "snd_return", "tpacket_snd+99", {"po=%di:x64"}}};
  LineTranslator tr(defs, plan_with({p, start, ret}), 0);
  const std::string sleep = "harness-41 [000] d..2. 2.000001: sched_switch: prev_comm=harness "
                            "prev_pid=41 prev_prio=120 prev_state=D ==> next_comm=swapper/0 "
                            "next_pid=0 next_prio=120";
  std::string out;
  EXPECT_FALSE(tr.translate(sleep, out)) << "not inside tpacket_snd yet";
  ASSERT_TRUE(
      tr.translate("harness-41 [000] ..... 1.9: snd_start: (tpacket_snd+17/9) po=0x1", out));
  out.clear();
  EXPECT_FALSE(tr.translate("harness-41 [000] d..2. 2.000000: sched_switch: prev_comm=harness "
                            "prev_pid=41 prev_prio=120 prev_state=R+ ==> next_comm=swapper/0 "
                            "next_pid=0 next_prio=120",
                            out));
  ASSERT_TRUE(tr.translate(sleep, out));
  EXPECT_EQ(out, "HX1 EV 2000001000 0 41 41 sched.sleep state=2\n");
  ASSERT_TRUE(
      tr.translate("harness-41 [000] ..... 2.1: snd_return: (tpacket_snd+99/9) po=0x1", out));
  out.clear();
  EXPECT_FALSE(tr.translate(sleep, out)) << "after tpacket_snd returned";
  EXPECT_EQ(tr.sender_comms(), std::vector<std::string>{"harness"});
  EXPECT_EQ(sched_state_value("S"), 1u);
  EXPECT_EQ(sched_state_value("D|K"), 0x102u);
  EXPECT_EQ(sched_state_value("R+"), 0u);
}

// The ring buffer overwrote events (issue 26): tracefs says so before the CPU's next event, and
// the record placed between that CPU's previous event and this one comes first.
TEST(LineTranslator, LostEventMarkersBecomeLostRecordsBetweenTheCpusEvents) {
  LineTranslator tr(len_sum_defs(), len_sum_plan(), 0);
  std::string out;
  ASSERT_TRUE(tr.translate("harness-41 [001] ..... 1.000000: snd_len_sum: (x+0/0) ph=0x1", out));
  ASSERT_TRUE(tr.translate("harness-41 [000] ..... 1.500000: snd_len_sum: (x+0/0) ph=0x2", out));
  out.clear();
  EXPECT_FALSE(tr.translate("CPU:1 [LOST 1234 EVENTS]", out));
  EXPECT_TRUE(out.empty());
  // Another CPU's event does not place CPU 1's loss.
  ASSERT_TRUE(tr.translate("harness-41 [000] ..... 2.000000: snd_len_sum: (x+0/0) ph=0x3", out));
  EXPECT_EQ(out.find("LOST"), std::string::npos);
  out.clear();
  ASSERT_TRUE(tr.translate("harness-41 [001] ..... 3.000000: snd_len_sum: (x+0/0) ph=0x4", out));
  EXPECT_EQ(out, "HX1 LOST 1000000000 3000000000 1 1234 overrun\n"
                 "HX1 EV 3000000000 1 41 41 snd.len_sum ph=0x4\n");
  // Without a count, and with no event after it: placed up to the end by flush_lost().
  out.clear();
  EXPECT_FALSE(tr.translate("CPU:0 [LOST EVENTS]", out));
  tr.flush_lost(out);
  EXPECT_EQ(out, "HX1 LOST 2000000000 - 0 ? overrun\n");
  EXPECT_EQ(tr.lost_marked(), 1234u);
  EXPECT_EQ(tr.lost_marked_on(1), 1234u);
  EXPECT_TRUE(tr.lost_uncounted());
  // Lines that only look like markers are foreign lines.
  for (const char* l : {"CPU:x [LOST 3 EVENTS]", "CPU:1 [LOST 3x EVENTS]", "CPU:1 [LOST EVENTS] x",
                        "CPU: [LOST 3 EVENTS]"}) {
    out.clear();
    EXPECT_FALSE(tr.translate(l, out)) << l;
    EXPECT_TRUE(out.empty()) << l;
  }
  EXPECT_EQ(tr.lost_marked(), 1234u);
}

} // namespace
} // namespace harness::kprobe
