// The one table of where trace keys live in the kernel: every key has a place but `state` (read
// from the sched_switch tracepoint), and every row is for a known key and anchor.
#include "probes/anchors.hpp"
#include "probes/field_sources.hpp"
#include "probes/trace_format.hpp"

#include <gtest/gtest.h>

namespace harness::probes {
namespace {

TEST(FieldSources, EveryKeyButStateHasAGeneralRow) {
  for (auto key : trace::all_keys) {
    const FieldSource* src = field_source("", key);
    if (key == trace::key::state) {
      EXPECT_EQ(src, nullptr);
      continue;
    }
    ASSERT_NE(src, nullptr) << key;
    EXPECT_TRUE(src->anchor.empty()) << key;
  }
}

TEST(FieldSources, RowsNameKnownKeysAndAnchorsAndAFirstPath) {
  for (const auto& f : field_sources) {
    EXPECT_TRUE(trace::is_key(f.key)) << f.key;
    EXPECT_TRUE(f.anchor.empty() || find_any_anchor(f.anchor)) << f.anchor;
    EXPECT_FALSE(f.paths[0].empty()) << f.key;
  }
}

TEST(FieldSources, AnAnchorsOwnRowComesFirst) {
  EXPECT_EQ(field_source("get_status.v2_return", trace::key::status)->paths[0], "h.h2->tp_status");
  EXPECT_EQ(field_source("snd.len_sum", trace::key::status)->paths[0], "status");
  EXPECT_EQ(field_source("snd.return", trace::key::wmem)->paths[1], "po->sk.sk_wmem_alloc.counter");
}

} // namespace
} // namespace harness::probes
