#include "kernel_test_util.hpp"
#include "probes/line_map.hpp"
#include "stap/verify.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace harness::stap {
namespace {

using namespace harness::probes;

probes::LineMap map61() {
  auto m =
      probes::load_line_map(std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json");
  EXPECT_TRUE(m) << (m ? "" : m.error().why);
  return m.value_or(probes::LineMap{});
}

VerifyResult verify(const std::string& variant, probes::ProbeSet set) {
  const auto st =
      parse_stap_listing(testing::data_file("stap-L-6.1.192-" + variant + "-statements.txt"));
  const auto fn =
      parse_stap_listing(testing::data_file("stap-L-6.1.192-" + variant + "-functions.txt"));
  return check_anchors(map61(), set, st, fn);
}

const AnchorCheck& row(const VerifyResult& r, const std::string& anchor) {
  auto it = std::find_if(r.rows.begin(), r.rows.end(),
                         [&](const AnchorCheck& c) { return c.anchor == anchor; });
  EXPECT_NE(it, r.rows.end()) << anchor;
  return *it;
}

TEST(Verify, EveryAnchorProbeableAtO0) {
  const auto r = verify("O0", probes::ProbeSet::all);
  EXPECT_EQ(r.unusable(), 0) << format_verify_table(r);
  const auto& v2 = row(r, "set_status.v2_break");
  EXPECT_EQ(v2.state, AnchorState::ok);
  EXPECT_EQ(v2.line, 419);
  EXPECT_EQ(v2.reads, (std::vector<std::string>{"po", "frame", "status"}));
  EXPECT_EQ(row(r, "get_status.v1_return").reads, (std::vector<std::string>{"po", "frame", "h"}));
  EXPECT_EQ(row(r, "snd.start").state, AnchorState::ok);
  EXPECT_EQ(row(r, "snd.wait_continue").state, AnchorState::ok);
  EXPECT_EQ(row(r, "set_status.end").state, AnchorState::bound); // never probed
  EXPECT_FALSE(row(r, "set_status.end").unusable());
  EXPECT_NE(format_verify_table(r).find("every anchor of the set can be probed"),
            std::string::npos);
}

TEST(Verify, InlinedO2BuildLosesAnchors) {
  const auto r = verify("O2", probes::ProbeSet::all);
  EXPECT_EQ(r.unusable_anchors(),
            (std::vector<std::string>{"set_status.v1_break", "set_status.v2_break",
                                      "set_status.v3_break", "get_status.v1_return",
                                      "get_status.v2_return", "get_status.v3_return",
                                      "snd.wait_continue", "snd.alloc_failed", "snd.set_sending"}));
  const auto& v1 = row(r, "set_status.v1_break");
  EXPECT_EQ(v1.state, AnchorState::not_probeable);
  EXPECT_EQ(v1.nearest_line, 414); // the inlined copy's flush line; 2606 is a call site elsewhere
  EXPECT_EQ(row(r, "snd.wait_continue").nearest_line, 2887);
  const auto& start = row(r, "snd.start");
  EXPECT_EQ(start.state, AnchorState::degraded);
  EXPECT_EQ(start.missing_fields, (std::vector<std::string>{"po", "head", "frame_max", "frame_size",
                                                            "frames_per_block", "version"}));
  EXPECT_EQ(row(r, "destruct.set_available").state, AnchorState::ok);
  const auto table = format_verify_table(r);
  EXPECT_NE(table.find("NOT PROBEABLE  no line-table entry; nearest probeable line 414 (-1)"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("9 anchor(s) of the set cannot be probed"), std::string::npos);
  // Only the set counts: call-return anchors are not required by the status set.
  EXPECT_EQ(verify("O2", probes::ProbeSet::status).unusable(), 8);
}

TEST(Verify, MissingFunctionAndAbsentAnchors) {
  auto map = map61();
  const auto st = parse_stap_listing(testing::data_file("stap-L-6.1.192-O0-statements.txt"));
  std::vector<ListedProbe> no_destruct;
  std::copy_if(st.begin(), st.end(), std::back_inserter(no_destruct),
               [](const ListedProbe& p) { return p.function != "tpacket_destruct_skb"; });
  const auto r = check_anchors(map, probes::ProbeSet::status, no_destruct, {});
  EXPECT_EQ(row(r, "destruct.pending_dec").state, AnchorState::no_function);
  EXPECT_EQ(row(r, "snd.start").state, AnchorState::no_function); // no function listing
  EXPECT_TRUE(row(r, "snd.start").unusable());
}

} // namespace
} // namespace harness::stap
