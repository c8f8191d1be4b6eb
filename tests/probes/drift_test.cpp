#include "probes/drift.hpp"
#include "probes/locator.hpp"
#include "synthetic_sources.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace harness::probes {
namespace {

using ::testing::HasSubstr;
using namespace harness::probes::synth;

const DriftRow& row(const DriftReport& r, const std::string& anchor) {
  for (const auto& x : r.rows)
    if (x.anchor == anchor)
      return x;
  throw std::runtime_error("no row " + anchor);
}

TEST(Drift, SameSourceHasNoDrift) {
  const std::string src = synthetic_source(eras().at("4.14"));
  auto map = locate(src, "4.14.1");
  ASSERT_TRUE(map);
  const auto r = compare_maps(*map, locate_all(src, "4.14.1"));
  EXPECT_FALSE(r.drifted());
  EXPECT_EQ(r.rows.size(), 29u);
  EXPECT_THAT(drift_to_text(r), HasSubstr("no drift"));
  // Both sides on the line of the anchor's marker in the source (independent of the locator),
  // every anchor the source marks present and "same".
  const auto marked = expected_lines(src);
  std::size_t checked = 0;
  for (const auto& x : r.rows) {
    const auto m = marked.find(x.anchor);
    if (m == marked.end()) {
      EXPECT_EQ(x.new_line, 0) << x.anchor << " is not in this source";
      continue;
    }
    ++checked;
    EXPECT_EQ(x.old_line, m->second) << x.anchor;
    EXPECT_EQ(x.new_line, m->second) << x.anchor;
    EXPECT_EQ(x.state, DriftState::same) << x.anchor;
  }
  EXPECT_EQ(checked, marked.size());
}

TEST(Drift, MovedChangedLostNew) {
  const std::string old_src = synthetic_source(eras().at("3.13"));
  auto old_map = locate(old_src, "3.13.0");
  ASSERT_TRUE(old_map);
  // Two lines inserted at the top (everything moves), xmit changed, V3 arm and else-break added
  // (new), and the ph check removed (lost).
  Era e = eras().at("6.12.117");
  e.ubuf_complete = false;
  std::string new_src = "// one\n// two\n" + synthetic_source(e);
  const auto located = locate_all(new_src, "6.12.0");
  const auto r = compare_maps(*old_map, located);
  EXPECT_TRUE(r.drifted());
  EXPECT_EQ(row(r, "set_status.v1_break").state, DriftState::moved);
  EXPECT_EQ(row(r, "set_status.v1_break").new_line, row(r, "set_status.v1_break").old_line + 2);
  EXPECT_EQ(row(r, "get_status.v1_return").state, DriftState::text_changed); // READ_ONCE
  EXPECT_EQ(row(r, "set_status.v3_break").state, DriftState::added);
  EXPECT_EQ(row(r, "snd.else_break").state, DriftState::added);
  EXPECT_EQ(row(r, "destruct.pending_dec").state, DriftState::text_changed);
  EXPECT_EQ(to_string(DriftState::added), "new");
  EXPECT_EQ(to_string(DriftState::text_changed), "text changed");

  std::string broken = new_src;
  const std::string check = "if (unlikely(ph == NULL)) { /*@snd.ph_check*/";
  broken.replace(broken.find(check), check.size(), "if (ph) {} else {");
  const auto r2 = compare_maps(*old_map, locate_all(broken, "6.12.0"));
  EXPECT_EQ(row(r2, "snd.ph_check").state, DriftState::lost);
  EXPECT_THAT(row(r2, "snd.ph_check").problem, HasSubstr("anchor snd.ph_check: 0 matches"));
  EXPECT_THAT(drift_to_text(r2), HasSubstr("lost"));

  const auto j = nlohmann::json::parse(drift_to_json(r2));
  EXPECT_EQ(j["schema"], "harness.drift/1");
  EXPECT_EQ(j["drifted"], true);
  EXPECT_EQ(j["anchors"].size(), 29u);
}

TEST(Drift, WhitespaceOnlyChangeIsNotDrift) {
  const std::string src = synthetic_source(eras().at("3.13"));
  auto map = locate(src, "3.13.0");
  ASSERT_TRUE(map);
  std::string spaced = src;
  spaced.replace(spaced.find("len_sum += tp_len;"), 18, "len_sum  +=  tp_len;");
  EXPECT_FALSE(compare_maps(*map, locate_all(spaced, "3.13.0")).drifted());
}

} // namespace
} // namespace harness::probes
