#include "probes/map_store.hpp"
#include "probes/plan_maker.hpp"
#include "probes/probe_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace harness::probes {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

ProbePlan sample_plan() {
  auto sel = select_map("3.13");
  EXPECT_TRUE(sel);
  auto plan = make_plan(sel->entry.map, ProbeSet::all);
  EXPECT_TRUE(plan);
  return *plan;
}

TEST(ProbePlan, ProbeSetNames) {
  EXPECT_EQ(to_string(ProbeSet::call_return), "call-return");
  EXPECT_EQ(*parse_probe_set("status"), ProbeSet::status);
  EXPECT_EQ(*parse_probe_set("call-return"), ProbeSet::call_return);
  EXPECT_EQ(*parse_probe_set("all"), ProbeSet::all);
  auto bad = parse_probe_set("everything");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().hint, "use status, call-return or all");
}

TEST(ProbePlan, RoundTripAndContents) {
  const ProbePlan p = sample_plan();
  EXPECT_EQ(p.kernel, "3.13.0-116-generic");
  EXPECT_EQ(p.probes, ProbeSet::all);
  // The 3.13 map (written by hand, no source) has no lines for the stand-ins.
  EXPECT_EQ(p.absent, (std::vector<std::string>{"set_status.v3_break", "get_status.v3_return",
                                                "destruct.after_available", "snd.else_break",
                                                "snd.set_sending"}));
  const auto* len = p.find("snd.len_sum");
  ASSERT_NE(len, nullptr);
  EXPECT_EQ(len->line, 2197);
  EXPECT_EQ(len->function, "tpacket_snd");
  EXPECT_EQ(len->statement, "len_sum += tp_len;");
  EXPECT_EQ(len->probe_point, "kernel.statement(\"tpacket_snd@net/packet/af_packet.c:2197\") ?");
  EXPECT_TRUE(len->optional);
  EXPECT_EQ(p.find("snd.start")->probe_point, "kernel.function(\"tpacket_snd\")");
  EXPECT_FALSE(p.find("snd.start")->optional);

  const std::string text = plan_to_json(p);
  EXPECT_EQ(json::parse(text)["schema"], "harness.plan/1");
  auto back = plan_from_json(text, "p.json");
  ASSERT_TRUE(back) << back.error().why;
  EXPECT_EQ(plan_to_json(*back), text);
  EXPECT_EQ(script_plan_path("/x/tx.stp"), "/x/tx.stp.plan.json");
  // A tracer artifact's plan replaces its extension, whichever tracer's it is.
  EXPECT_EQ(artifact_plan_path("/x/harness_probes.ko"), "/x/harness_probes.plan.json");
  EXPECT_EQ(artifact_plan_path("p.kprobes"), "p.plan.json");
  EXPECT_EQ(artifact_plan_path("/x.d/probes"), "/x.d/probes.plan.json");
  EXPECT_EQ(artifact_plan_path("/x/.ko"), "/x/.ko.plan.json");
  EXPECT_EQ(run_plan_path("/runs/r1"), "/runs/r1/plan.json");
}

TEST(ProbePlan, InvalidPlansAreRejected) {
  const json good = json::parse(plan_to_json(sample_plan()));
  auto check = [&](auto edit, const std::string& why) {
    json j = good;
    edit(j);
    auto r = plan_from_json(j.dump(), "plan.json");
    ASSERT_FALSE(r) << why;
    EXPECT_THAT(r.error().why, HasSubstr(why));
  };
  check([](json& j) { j["schema"] = "harness.plan/0"; }, "is not harness.plan/1");
  check([](json& j) { j["plan_id"] = "xyz"; }, "plan_id: expected 16");
  check([](json& j) { j["probes"] = "some"; }, "is not a probe set");
  check([](json& j) { j["anchors"][0]["anchor"] = "evil"; }, "is not a known anchor");
  check([](json& j) { j["anchors"][0]["function"] = "tpacket_snd"; }, "is not where");
  check([](json& j) { j["anchors"][0]["line"] = 0; }, "out of range");
  check([](json& j) { j["anchors"][0].erase("optional"); }, "missing or not true/false");
  check([](json& j) { j["kernel"] = "a b"; }, "not a kernel release");
  check([](json& j) { j["anchors"].push_back(j["anchors"][0]); }, "listed twice");
  EXPECT_FALSE(plan_from_json("[]", "x"));
  EXPECT_FALSE(load_plan("/nonexistent.plan.json"));
}

} // namespace
} // namespace harness::probes
