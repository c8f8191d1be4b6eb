// Which line map a kernel build tree gets (kernel/tree_map.hpp), on Debian's real af_packet.c
// files placed in throwaway trees; the expected lines are the shipped map files' (committed
// JSON), not a second run of the locator.
#include "kernel/tree_map.hpp"
#include "kernel_test_util.hpp"
#include "probes/map_store.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace harness::kernel {
namespace {

using TempDir = harness::testing::VarTmpDir;

std::string real_source(const std::string& series) {
  auto t = read_file(std::string(KERNEL_SOURCES_DIR) + "/linux-source-" + series +
                     "/net/packet/af_packet.c");
  EXPECT_TRUE(t) << series;
  return t ? *t : std::string();
}

int shipped_line(const std::string& map_file, const std::string& anchor) {
  auto t = read_file(std::string(HARNESS_SOURCE_DIR) + "/probes/maps/" + map_file + ".json");
  EXPECT_TRUE(t);
  const auto map = nlohmann::json::parse(*t);
  for (const auto& a : map["anchors"])
    if (a["name"] == anchor)
      return a["line"];
  return -1;
}

int line_of(const probes::LineMap& m, const std::string& anchor) {
  for (const auto& a : m.anchors)
    if (a.name == anchor)
      return a.line;
  return -1;
}

// A tree whose net/packet/af_packet.c is `source` (none when empty).
KernelTree tree_with(const TempDir& dir, const std::string& release, const std::string& source) {
  if (!source.empty()) {
    EXPECT_TRUE(make_dirs(dir.file("net/packet")));
    EXPECT_TRUE(write_file_atomic(dir.file("net/packet/af_packet.c"), source));
  }
  KernelTree t;
  t.build_dir = t.source_dir = dir.path();
  t.release = release;
  return t;
}

TEST(TreeMap, TreeWithDebians61SourceGetsTheShippedMapAndItsSource) {
  TempDir dir;
  auto m = map_for_tree(tree_with(dir, "6.1.192", real_source("6.1")), "", std::nullopt);
  ASSERT_TRUE(m) << format_error(m.error());
  EXPECT_EQ(m->map.release, "6.1.192");
  EXPECT_TRUE(m->note.empty()) << m->note;
  EXPECT_TRUE(m->source) << "the map's source is the tree's: the script can quote it";
  for (const char* a : {"snd.len_sum", "set_status.v2_break", "destruct.set_available"})
    EXPECT_EQ(line_of(m->map, a), shipped_line("6.1.192-debian", a)) << a;
}

TEST(TreeMap, RebuiltReleaseWithTheSameSourceGetsTheMapOfThatSource) {
  // 6.12.118's af_packet.c is byte-identical to 6.12.117's: that map, by sha1.
  TempDir dir;
  auto m = map_for_tree(tree_with(dir, "6.12.118", real_source("6.12")), "", std::nullopt);
  ASSERT_TRUE(m) << format_error(m.error());
  EXPECT_TRUE(m->source);
  for (const char* a : {"snd.len_sum", "snd.ph_check", "destruct.pending_dec"})
    EXPECT_EQ(line_of(m->map, a), shipped_line("6.12.117-debian", a)) << a;
}

TEST(TreeMap, EditedSourceIsLocatedInTheTreeNeverGivenTheShippedLines) {
  // Two lines added at the top: every anchor is 2 lines further down than the shipped map says.
  TempDir dir;
  auto m = map_for_tree(tree_with(dir, "6.1.192", "// one\n// two\n" + real_source("6.1")), "",
                        std::nullopt);
  ASSERT_TRUE(m) << format_error(m.error());
  for (const char* a : {"snd.len_sum", "set_status.v2_break", "snd.return"})
    EXPECT_EQ(line_of(m->map, a), shipped_line("6.1.192-debian", a) + 2) << a;
  EXPECT_TRUE(m->source);
  EXPECT_FALSE(m->note.empty()) << "it must say the shipped map does not fit";
}

TEST(TreeMap, TreeWithoutItsSourceGetsTheShippedMapOfItsRelease) {
  TempDir dir;
  auto m = map_for_tree(tree_with(dir, "6.1.192", ""), "", std::nullopt);
  ASSERT_TRUE(m) << format_error(m.error());
  EXPECT_EQ(m->map.release, "6.1.192");
  EXPECT_FALSE(m->source);
  EXPECT_EQ(line_of(m->map, "snd.len_sum"), shipped_line("6.1.192-debian", "snd.len_sum"));
}

TEST(TreeMap, AnExplicitMapWinsAndADifferentSourceIsNamed) {
  TempDir dir;
  auto maps = probes::load_shipped_maps();
  ASSERT_TRUE(maps);
  auto old = probes::select_map(*maps, "3.13", "3.13.0-116-generic");
  ASSERT_TRUE(old);
  auto m = map_for_tree(tree_with(dir, "6.1.192", real_source("6.1")), "", old->entry.map);
  ASSERT_TRUE(m) << format_error(m.error());
  EXPECT_EQ(m->map.release, old->entry.map.release);
  EXPECT_FALSE(m->source);
  EXPECT_NE(m->note.find("is not the map's source (sha1 differs)"), std::string::npos) << m->note;
  EXPECT_NE(m->note.find(dir.file("net/packet/af_packet.c")), std::string::npos) << m->note;
}

} // namespace
} // namespace harness::kernel
