#include "harness/report/anchor_ids.hpp"
#include "harness/report/expectations.hpp"
#include "probes/anchors.hpp"

#include <gtest/gtest.h>

using namespace harness::report;

TEST(Expectations, VersionProbesAreOnlyExpectedForTheirVersion) {
  EXPECT_EQ(expectation_of("set_status.v2_break", 2).expect, Expect::always);
  EXPECT_EQ(expectation_of("set_status.v1_break", 2).expect, Expect::other_version);
  EXPECT_EQ(expectation_of("get_status.v3_return", 1).expect, Expect::other_version);
  EXPECT_EQ(expectation_of("get_status.v3_return", 0).expect, Expect::always);
  EXPECT_EQ(anchor_version("set_status.v3_break"), 3);
  EXPECT_EQ(anchor_version("snd.len_sum"), 0);
}

TEST(Expectations, PathDependentProbesAreConditional) {
  for (const char* a : {"snd.wait", "snd.wait_continue", "snd.else_break", "snd.alloc_failed",
                        "snd.already_destructed", "snd.not_destructed", "snd.size_max_clamp"}) {
    const auto e = expectation_of(a, 2);
    EXPECT_EQ(e.expect, Expect::conditional) << a;
    EXPECT_FALSE(e.when.empty()) << a;
  }
  for (const char* a : {"snd.start", "snd.ph_check", "snd.len_sum", "snd.return",
                        "destruct.pending_dec", "destruct.set_available", "snd.after_xmit"})
    EXPECT_EQ(expectation_of(a, 2).expect, Expect::always) << a;
  EXPECT_EQ(expectation_of("snd.end", 2).expect, Expect::bounds);
  EXPECT_EQ(expectation_of("future.anchor", 2).expect, Expect::conditional);
}

// Every anchor a probe set prints gets an expectation the report can judge (a probed anchor
// marked as a bare function bound would never be missed), and a versioned one is said to belong
// to its own TPACKET version when another ring is in use.
TEST(Expectations, EveryProbedAnchorHasAnExpectation) {
  int probed = 0;
  for (const auto& a : harness::probes::anchor_table) {
    if (!a.in_status && !a.in_call_return)
      continue;
    ++probed;
    for (int tpacket : {0, 1, 2, 3}) {
      const auto e = expectation_of(a.name, tpacket);
      EXPECT_NE(e.expect, Expect::bounds) << a.name;
      if (a.tpacket != 0 && tpacket != 0 && tpacket != a.tpacket) {
        EXPECT_EQ(e.expect, Expect::other_version) << a.name << " with V" << tpacket;
        EXPECT_EQ(e.when, "only for TPACKET_V" + std::to_string(a.tpacket) + " rings") << a.name;
      } else {
        EXPECT_NE(e.expect, Expect::other_version) << a.name << " with V" << tpacket;
      }
    }
  }
  EXPECT_GE(probed, 20);
}

TEST(Expectations, PhasesOfAnchors) {
  EXPECT_EQ(phases_of_anchor("set_status.v1_break"),
            phase_bit(Phase::sending) | phase_bit(Phase::available));
  EXPECT_EQ(phases_of_anchor("snd.ph_check"), phase_bit(Phase::request_seen));
  EXPECT_EQ(phases_of_anchor("destruct.pending_dec"), phase_bit(Phase::destruct));
  EXPECT_EQ(phases_of_anchor("snd.return"), 0u);
}
