// The kprobe definitions grammar: only what perf emits reaches kprobe_events.
#include "kprobe/definitions.hpp"

#include <gtest/gtest.h>

namespace harness::kprobe {
namespace {

TEST(Definitions, ParsesPerfOutputLine) {
  // A line perf 6.1 printed for the 6.1 -O0 test kernel (docs/tracing-notes.md), with harness's
  // names.
  auto d = parse_perf_definition("p:probe/snd_len_sum tpacket_snd+2340 ph=+96(%sp):x64 "
                                 "head=+960(+8(%sp)):u32 flags=+68(+0(%sp)):u32 "
                                 "tp_len=+132(%sp):s32");
  ASSERT_TRUE(d) << d.error().why;
  EXPECT_EQ(d->event, "snd_len_sum");
  EXPECT_EQ(d->probe, "tpacket_snd+2340");
  ASSERT_EQ(d->args.size(), 4u);
  EXPECT_EQ(d->args[1], "head=+960(+8(%sp)):u32");
}

TEST(Definitions, RejectsWhatPerfNeverPrints) {
  for (const char* line :
       {"p:probe/x tpacket_snd+1 ph=+96(%sp):x64;rm",      // shell-ish junk in a fetch
        "p:probe/x tpacket_snd+1 unknownkey=+96(%sp):x64", // not a trace key
        "p:probe/x tpacket_snd+1 ph=+96(%sp):string",      // a type harness never asks for
        "p:probe/x tpacket_snd+1 ph=+96(%sp:x64",          // unbalanced
        "p:probe/x 1tpacket_snd ph=%di:x64",               // not a symbol
        "p:probe/x tpacket_snd+0x10 ph=%di:x64",           // hex offsets are not perf's -D form
        "r:probe/x tpacket_snd",                           // not a kprobe
        "p:probe/bad-name tpacket_snd",                    // not an identifier
        "p:probe/x"}) {
    EXPECT_FALSE(parse_perf_definition(line)) << line;
  }
}

TEST(Definitions, EventNamesAndLines) {
  EXPECT_EQ(event_name_for("set_status.v1_break"), "set_status_v1_break");
  KprobeEvent e{"snd.len_sum", "snd_len_sum_1", "packet_sendmsg+77", {"ph=%di:x64"}};
  EXPECT_EQ(install_line("harness_42", e),
            "p:harness_42/snd_len_sum_1 packet_sendmsg+77 ph=%di:x64");
  EXPECT_EQ(remove_line("harness_42", "snd_len_sum_1"), "-:harness_42/snd_len_sum_1");
}

TEST(Definitions, JsonRoundTripAgainstFixedText) {
  const std::string text = R"({
  "schema": "harness.kprobes/1", "kernel": "6.1.192", "build_id": "ab12", "plan_id": "0123456789abcdef",
  "perf": "perf version 6.1.192",
  "events": [ { "anchor": "snd.len_sum", "event": "snd_len_sum", "probe": "tpacket_snd+2340",
                "args": ["ph=+96(%sp):x64"] } ],
  "unfetchable": [ { "anchor": "snd.len_sum", "key": "pending" } ],
  "dropped": ["snd.wait"] })";
  auto d = defs_from_json(text, "t.kprobes");
  ASSERT_TRUE(d) << d.error().why;
  EXPECT_EQ(d->events.at(0).probe, "tpacket_snd+2340");
  EXPECT_EQ(d->unfetchable.at(0).key, "pending");
  EXPECT_EQ(d->dropped.at(0), "snd.wait");
  auto again = defs_from_json(defs_to_json(*d), "again");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->events.at(0).args, d->events.at(0).args);
}

TEST(Definitions, JsonRejectsBadFields) {
  const std::string base = R"({"schema": "harness.kprobes/1", "kernel": "6.1.192", "build_id": "ab",
    "plan_id": "0123456789abcdef", "perf": "p", "unfetchable": [], "dropped": [], "events": )";
  for (const char* events :
       {R"([])",                                                             // none
        R"([{"anchor": "nope", "event": "e", "probe": "f+1", "args": []}])", // anchor
        R"([{"anchor": "snd.len_sum", "event": "e", "probe": "f+1", "args": ["x"]}])",
        R"([{"anchor": "snd.len_sum", "event": "E", "probe": "f+1", "args": []}])",
        R"([{"anchor": "snd.len_sum", "event": "e", "probe": "f;1", "args": []}])",
        R"([{"anchor": "snd.len_sum", "event": "e", "probe": "f+1", "args": [], "x": 1}])"}) {
    auto d = defs_from_json(base + events + "}", "bad.kprobes");
    EXPECT_FALSE(d) << events;
    if (!d) {
      EXPECT_NE(d.error().what.find("bad.kprobes"), std::string::npos);
    }
  }
}

// An empty build id turned the run's "definitions for another kernel" check off: offsets of one
// vmlinux would be installed into any kernel. The ids must be what harness writes.
TEST(Definitions, JsonRefusesDefinitionsThatNameNoKernelOrNoPlan) {
  const std::string events = R"("events": [{"anchor": "snd.len_sum", "event": "e",
    "probe": "tpacket_snd+1", "args": []}], "unfetchable": [], "dropped": []})";
  auto defs = [&](const std::string& build_id, const std::string& plan_id) {
    return defs_from_json(R"({"schema": "harness.kprobes/1", "kernel": "6.1.192", "build_id": ")" +
                              build_id + R"(", "plan_id": ")" + plan_id + R"(", "perf": "p", )" +
                              events,
                          "t.kprobes");
  };
  EXPECT_TRUE(defs("0182f61bedcb2bea8b162e165d64d948f7e39f3e", "0123456789abcdef"));
  for (const char* bad_id : {"", "a", "abc", "0182F61B"}) {
    auto d = defs(bad_id, "0123456789abcdef");
    EXPECT_FALSE(d) << "build_id '" << bad_id << "'";
    if (!d) {
      EXPECT_NE(d.error().why.find("build_id"), std::string::npos) << d.error().why;
    }
  }
  for (const char* bad_plan : {"zzzzzzzzzzzzzzzz", "0123456789ABCDEF", "0123456789abcde "}) {
    EXPECT_FALSE(defs("ab12", bad_plan)) << "plan_id '" << bad_plan << "'";
  }
}

} // namespace
} // namespace harness::kprobe
