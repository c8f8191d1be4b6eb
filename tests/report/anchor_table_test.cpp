#include "harness/report/anchor_table.hpp"
#include "probes/anchors.hpp"

#include <gtest/gtest.h>

using namespace harness::report;

TEST(AnchorTable, KnownAnchorsAreAnchorsOfTheStapTable) {
  // The report interprets anchors by name: they must be the ones the generator prints.
  for (auto name : known_anchor_names())
    EXPECT_NE(harness::probes::find_any_anchor(name), nullptr) << name;
}

TEST(AnchorTable, InternsNewNamesAndRejectsBadOnes) {
  AnchorTable t;
  EXPECT_EQ(t.intern("snd.len_sum"), id_of(KnownAnchor::snd_len_sum));
  const auto a = t.intern("snd.future_anchor");
  ASSERT_TRUE(a);
  EXPECT_GE(*a, kKnownAnchors);
  EXPECT_EQ(t.intern("snd.future_anchor"), a);
  EXPECT_EQ(t.name(*a), "snd.future_anchor");
  EXPECT_EQ(t.find("snd.future_anchor"), a);
  EXPECT_FALSE(t.intern("Bad Name"));
  EXPECT_FALSE(t.intern(""));
  EXPECT_FALSE(t.intern(std::string(65, 'a')));
}

TEST(AnchorTable, BoundedNumberOfNames) {
  AnchorTable t;
  std::optional<AnchorId> last;
  for (int i = 0; i < 2000; ++i)
    last = t.intern("x.a" + std::to_string(i));
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, t.overflow_id());
  EXPECT_LE(t.size(), AnchorTable::kMaxAnchors + 1);
}
