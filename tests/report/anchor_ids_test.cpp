#include "harness/report/anchor_ids.hpp"
#include "probes/anchors.hpp"

#include <gtest/gtest.h>

using namespace harness::report;

// The ids the correlator dispatches on (KnownAnchor) name the anchors they are named after, in
// the list of names and in a fresh table, and every name the report interprets is one the table
// can intern (a trace line naming it would otherwise be dropped as malformed).
TEST(AnchorIds, KnownIdsNameTheirAnchors) {
  const std::pair<KnownAnchor, std::string_view> ids[] = {
      {KnownAnchor::set_status_v1_break, "set_status.v1_break"},
      {KnownAnchor::set_status_v2_break, "set_status.v2_break"},
      {KnownAnchor::set_status_v3_break, "set_status.v3_break"},
      {KnownAnchor::get_status_v1_return, "get_status.v1_return"},
      {KnownAnchor::get_status_v2_return, "get_status.v2_return"},
      {KnownAnchor::get_status_v3_return, "get_status.v3_return"},
      {KnownAnchor::destruct_start, "destruct.start"},
      {KnownAnchor::destruct_pending_dec, "destruct.pending_dec"},
      {KnownAnchor::destruct_set_available, "destruct.set_available"},
      {KnownAnchor::snd_start, "snd.start"},
      {KnownAnchor::snd_size_max_clamp, "snd.size_max_clamp"},
      {KnownAnchor::snd_ph_check, "snd.ph_check"},
      {KnownAnchor::snd_wait, "snd.wait"},
      {KnownAnchor::snd_wait_continue, "snd.wait_continue"},
      {KnownAnchor::snd_else_break, "snd.else_break"},
      {KnownAnchor::snd_alloc_failed, "snd.alloc_failed"},
      {KnownAnchor::snd_after_xmit, "snd.after_xmit"},
      {KnownAnchor::snd_already_destructed, "snd.already_destructed"},
      {KnownAnchor::snd_not_destructed, "snd.not_destructed"},
      {KnownAnchor::snd_len_sum, "snd.len_sum"},
      {KnownAnchor::snd_return, "snd.return"},
      {KnownAnchor::alloc_enter, "alloc.enter"},
      {KnownAnchor::sched_sleep, "sched.sleep"},
  };
  const auto names = known_anchor_names();
  AnchorIds t;
  for (const auto& [id, name] : ids) {
    ASSERT_LT(id_of(id), names.size()) << name;
    EXPECT_EQ(names[id_of(id)], name);
    EXPECT_EQ(t.name(id_of(id)), name);
    EXPECT_EQ(t.find(name), id_of(id)) << name;
    EXPECT_EQ(t.intern(name), id_of(id)) << name;
  }
  for (auto name : names)
    EXPECT_TRUE(AnchorIds::valid_name(name)) << name;
  // A function's start or end line is a map bound, not something the report interprets.
  for (const char* bound : {"set_status.start", "set_status.end", "snd.end", "destruct.end"})
    EXPECT_EQ(t.find(bound), std::nullopt) << bound;
}

TEST(AnchorIds, InternsNewNamesAndRejectsBadOnes) {
  AnchorIds t;
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

TEST(AnchorIds, BoundedNumberOfNames) {
  AnchorIds t;
  std::optional<AnchorId> last;
  for (int i = 0; i < 2000; ++i)
    last = t.intern("x.a" + std::to_string(i));
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, t.overflow_id());
  EXPECT_LE(t.size(), AnchorIds::kMaxAnchors + 1);
}
