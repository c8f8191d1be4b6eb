#include "base/sha1.hpp"
#include "probes/locator.hpp"
#include "probes/source_map.hpp"
#include "synthetic_sources.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace harness::probes {
namespace {

using ::testing::HasSubstr;

// One shipped entry located from a synthetic 6.12 source, and that source as a tree would hold it.
class SourceMap : public ::testing::Test {
protected:
  const KernelSource* tree(const std::string& t) {
    src = KernelSource{"tree/af_packet.c", t};
    return &src;
  }
  KernelSource src;
  void SetUp() override {
    text = synth::synthetic_source(synth::eras().at("6.12.117"));
    auto m = locate(text, "6.12.117");
    ASSERT_TRUE(m) << m.error().why;
    entries.push_back(MapEntry{*m, "maps/6.12.117.json"});
  }
  std::string text;
  std::vector<MapEntry> entries;
};

TEST_F(SourceMap, SameFileUnderAnotherReleaseUsesTheShippedEntry) {
  auto sel = select_map_for_source(entries, "auto", "6.12.118", tree(text));
  ASSERT_TRUE(sel) << sel.error().why;
  EXPECT_TRUE(sel->exact);
  EXPECT_EQ(sel->entry.file, "maps/6.12.117.json");
  EXPECT_THAT(sel->note, HasSubstr("byte for byte"));
}

TEST_F(SourceMap, ChangedFileIsLocatedNotGuessedFromTheNearestMap) {
  const std::string moved = "/* three */\n/* new */\n/* lines */\n" + text;
  auto sel = select_map_for_source(entries, "", "6.12.200", tree(moved));
  ASSERT_TRUE(sel) << sel.error().why;
  EXPECT_TRUE(sel->exact);
  EXPECT_EQ(sel->entry.file, "tree/af_packet.c");
  EXPECT_EQ(sel->entry.map.release, "6.12.200");
  EXPECT_EQ(sel->entry.map.source_sha1, sha1_hex(moved));
  const auto want = synth::expected_lines(moved);
  for (const auto& [name, line] : want) {
    const auto* a = sel->entry.map.anchor(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->line, line) << name;
    EXPECT_EQ(a->line, entries[0].map.anchor(name)->line + 3) << name;
  }
  EXPECT_THAT(sel->note, HasSubstr("anchors located in tree/af_packet.c"));
  EXPECT_THAT(sel->note, HasSubstr("the nearest shipped map, 6.12.117:"));
  EXPECT_THAT(sel->note,
              HasSubstr(std::to_string(entries[0].map.anchors.size()) + " of " +
                        std::to_string(entries[0].map.anchors.size()) + " anchors moved"));
}

TEST_F(SourceMap, UnplaceableSourceIsAnErrorNamingTheAnchor) {
  std::string broken = text;
  const auto at = broken.find("len_sum += tp_len;");
  ASSERT_NE(at, std::string::npos);
  broken.erase(at, std::string("len_sum += tp_len;").size());
  auto sel = select_map_for_source(entries, "auto", "6.12.200", tree(broken));
  ASSERT_FALSE(sel);
  EXPECT_EQ(sel.error().code, Exit::no_map);
  EXPECT_EQ(sel.error().what, "tree/af_packet.c");
  EXPECT_THAT(sel.error().why, HasSubstr("snd.len_sum"));
  EXPECT_THAT(sel.error().hint, HasSubstr("--map FILE"));
}

TEST_F(SourceMap, ExplicitOtherKernelKeepsThatMapAndSaysTheSourceDiffers) {
  const std::string moved = "\n" + text;
  auto sel = select_map_for_source(entries, "6.12", "6.12.200", tree(moved));
  ASSERT_TRUE(sel) << sel.error().why;
  EXPECT_EQ(sel->entry.file, "maps/6.12.117.json");
  EXPECT_THAT(sel->note, HasSubstr("the map's source is not tree/af_packet.c"));
  EXPECT_THAT(sel->note, HasSubstr("harness drift --source tree/af_packet.c"));
}

TEST_F(SourceMap, WithoutASourceItIsSelectMap) {
  auto sel = select_map_for_source(entries, "", "6.12.117", nullptr);
  ASSERT_TRUE(sel) << sel.error().why;
  EXPECT_TRUE(sel->exact);
  EXPECT_EQ(sel->entry.file, "maps/6.12.117.json");
  EXPECT_TRUE(sel->note.empty());
}

TEST_F(SourceMap, BadSpecIsStillRefused) {
  auto sel = select_map_for_source(entries, "six", "6.12.200", tree(text));
  ASSERT_FALSE(sel);
  EXPECT_EQ(sel.error().code, Exit::usage);
}

} // namespace
} // namespace harness::probes
