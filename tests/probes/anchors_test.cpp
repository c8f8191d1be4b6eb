#include "probes/anchor_rule.hpp"
#include "probes/anchors.hpp"
#include "probes/pattern.hpp"
#include "probes/trace_format.hpp"

#include <gtest/gtest.h>
#include <set>
#include <string>

namespace harness::probes {
namespace {

// The names of DESIGN.md's anchor table: the contract with maps, traces and reports.
const std::set<std::string> kDesignNames = {"set_status.start",
                                            "set_status.end",
                                            "set_status.v1_break",
                                            "set_status.v2_break",
                                            "set_status.v3_break",
                                            "get_status.start",
                                            "get_status.end",
                                            "get_status.v1_return",
                                            "get_status.v2_return",
                                            "get_status.v3_return",
                                            "destruct.start",
                                            "destruct.end",
                                            "destruct.pending_dec",
                                            "destruct.set_available",
                                            "destruct.after_available",
                                            "snd.start",
                                            "snd.end",
                                            "snd.size_max_clamp",
                                            "snd.ph_check",
                                            "snd.wait",
                                            "snd.wait_continue",
                                            "snd.else_break",
                                            "snd.alloc_failed",
                                            "snd.set_sending",
                                            "snd.after_xmit",
                                            "snd.already_destructed",
                                            "snd.not_destructed",
                                            "snd.len_sum",
                                            "snd.return"};

TEST(Anchors, ExactlyTheDesignNamesEachOnce) {
  std::set<std::string> names;
  for (const auto& a : anchors())
    EXPECT_TRUE(names.insert(std::string(a.name)).second) << a.name;
  EXPECT_EQ(names, kDesignNames);
}

TEST(Anchors, EveryFunctionHasStartAndEndAndKnownName) {
  for (const auto& f : anchored_functions()) {
    int starts = 0, ends = 0;
    for (const auto& a : anchors()) {
      if (a.function != f.canonical)
        continue;
      starts += a.kind == AnchorKind::function_start;
      ends += a.kind == AnchorKind::function_end;
    }
    EXPECT_EQ(starts, 1) << f.canonical;
    EXPECT_EQ(ends, 1) << f.canonical;
    EXPECT_EQ(find_function(f.canonical), &f);
    for (auto n : f.names)
      EXPECT_EQ(find_function(n), &f);
  }
  for (const auto& a : anchors())
    EXPECT_NE(find_function(a.function), nullptr) << a.name;
  EXPECT_EQ(find_function("packet_sendmsg"), nullptr);
  EXPECT_EQ(find_anchor("snd.nope"), nullptr);
}

TEST(Anchors, StatementsHaveRulesWithOneTargetAndValidPatterns) {
  for (const auto& a : anchors()) {
    if (a.kind != AnchorKind::statement) {
      EXPECT_EQ(a.rule, nullptr) << a.name;
      continue;
    }
    ASSERT_NE(a.rule, nullptr) << a.name;
    int targets = 0;
    for (const auto& step : a.rule->steps) {
      targets += step.op == StepOp::target || step.op == StepOp::next_token;
      if (step.absent_if_none) {
        EXPECT_TRUE(a.optional) << a.name << ": only optional anchors may be absent";
      }
      for (auto alt : step.alternatives) {
        if (alt.empty())
          continue;
        const Pattern p = compile_pattern(alt);
        ASSERT_FALSE(p.tokens.empty()) << a.name << ": " << alt;
        EXPECT_NE(p.tokens.front().kind, PatternToken::Kind::wildcard) << alt;
        for (size_t i = 0; i < p.mark; ++i)
          EXPECT_NE(p.tokens[i].kind, PatternToken::Kind::wildcard)
              << "mark after wildcard: " << alt;
      }
    }
    EXPECT_EQ(targets, 1) << a.name;
    EXPECT_EQ(a.rule->steps.back().op == StepOp::target ||
                  a.rule->steps.back().op == StepOp::next_token,
              true)
        << a.name;
    EXPECT_FALSE(a.rule_text.empty()) << a.name;
    EXPECT_EQ(a.optional, !a.absent_when.empty()) << a.name;
  }
}

TEST(Anchors, FieldsAreTraceKeysAndPoIsOnEveryProbedAnchor) {
  for (const auto& a : anchors()) {
    for (auto f : a.fields)
      EXPECT_TRUE(trace::is_key(f)) << a.name << ": " << f;
    if (a.in_status || a.in_call_return) {
      ASSERT_FALSE(a.fields.empty()) << a.name;
      EXPECT_EQ(a.fields.front(), trace::key::po) << a.name;
    }
  }
}

TEST(Anchors, ProbeSetsAreThoseOfDesign) {
  std::set<std::string> status, call_return;
  for (const auto& a : anchors()) {
    if (a.in_status)
      status.insert(std::string(a.name));
    if (a.in_call_return)
      call_return.insert(std::string(a.name));
  }
  EXPECT_EQ(status, (std::set<std::string>{"set_status.v1_break", "set_status.v2_break",
                                           "set_status.v3_break", "get_status.v1_return",
                                           "get_status.v2_return", "get_status.v3_return",
                                           "destruct.pending_dec", "destruct.set_available",
                                           "destruct.after_available", "snd.start", "snd.ph_check",
                                           "snd.set_sending", "snd.wait", "snd.wait_continue",
                                           "snd.else_break", "snd.len_sum", "snd.return"}));
  EXPECT_EQ(call_return,
            (std::set<std::string>{"snd.start", "snd.size_max_clamp", "snd.alloc_failed",
                                   "snd.after_xmit", "snd.already_destructed", "snd.not_destructed",
                                   "snd.return"}));
  EXPECT_TRUE(find_anchor("snd.start")->probe_function_entry);
}

} // namespace
} // namespace harness::probes

namespace harness::probes {
namespace {

// DESIGN.md "Kernel event anchors": the trace contract a second tracer must honour.
TEST(Anchors, KernelEventAnchorsAreTheContractOfDesign) {
  ASSERT_EQ(kernel_event_anchors().size(), 2u);
  const AnchorDef* alloc = find_any_anchor("alloc.enter");
  const AnchorDef* sleep = find_any_anchor("sched.sleep");
  ASSERT_NE(alloc, nullptr);
  ASSERT_NE(sleep, nullptr);
  EXPECT_EQ(alloc->kind, AnchorKind::kernel_function);
  EXPECT_EQ(alloc->function, "sock_alloc_send_pskb");
  EXPECT_EQ(std::vector<std::string_view>(alloc->fields.begin(), alloc->fields.end()),
            std::vector<std::string_view>{trace::key::noblock});
  EXPECT_EQ(sleep->kind, AnchorKind::tracepoint);
  EXPECT_EQ(sleep->function, "sched:sched_switch");
  EXPECT_EQ(std::vector<std::string_view>(sleep->fields.begin(), sleep->fields.end()),
            std::vector<std::string_view>{trace::key::state});
  for (const auto& a : kernel_event_anchors()) {
    EXPECT_TRUE(is_kernel_event(a)) << a.name;
    EXPECT_TRUE(a.in_status) << a.name; // `status` and `all`
    EXPECT_FALSE(a.in_call_return) << a.name;
    EXPECT_EQ(a.rule, nullptr) << a.name;              // no pattern: maps never hold them
    EXPECT_EQ(find_anchor(a.name), nullptr) << a.name; // not an af_packet.c anchor
    EXPECT_EQ(find_any_anchor(a.name), &a);
  }
  for (const auto& a : anchors())
    EXPECT_FALSE(is_kernel_event(a)) << a.name;
}

} // namespace
} // namespace harness::probes
