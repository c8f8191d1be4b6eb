#include "base/files.hpp"
#include "probes/locator.hpp"
#include "probes/map_store.hpp"
#include "synthetic_sources.hpp"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace harness::probes {
namespace {

using ::testing::HasSubstr;

class ShippedMaps : public ::testing::Test {
protected:
  void SetUp() override {
    auto m = load_maps(std::string(HARNESS_SOURCE_DIR) + "/probes/maps");
    ASSERT_TRUE(m) << m.error().why;
    entries = std::move(*m);
  }
  Result<MapSelection> pick(std::string_view spec, std::string_view running = "") {
    return select_map(entries, spec, running);
  }
  std::vector<MapEntry> entries;
};

TEST_F(ShippedMaps, ThreeEntriesSortedByVersion) {
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].map.release, "3.13.0-116-generic");
  EXPECT_EQ(entries[1].map.release, "6.1.192");
  EXPECT_EQ(entries[2].map.release, "6.12.117");
  EXPECT_EQ(entries[1].map.package, "linux-source-6.1 6.1.192-2");
  EXPECT_EQ(entries[2].map.package, "linux-source-6.12 6.12.117-1~deb12u1");
}

TEST_F(ShippedMaps, ExactSpecs) {
  for (auto [spec, release] : std::vector<std::pair<std::string, std::string>>{
           {"3.13", "3.13.0-116-generic"},
           {"3.13.0-116", "3.13.0-116-generic"},
           {"3.13.0-116-generic", "3.13.0-116-generic"},
           {"6.1", "6.1.192"},
           {"6.1.192", "6.1.192"},
           {"6.12", "6.12.117"},
           {"6.x", "6.12.117"}}) {
    auto s = pick(spec);
    ASSERT_TRUE(s) << spec;
    EXPECT_TRUE(s->exact) << spec;
    EXPECT_EQ(s->entry.map.release, release) << spec;
    EXPECT_TRUE(s->note.empty());
  }
}

TEST_F(ShippedMaps, NearestNamesBothVersions) {
  auto s = pick("5.x");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->exact);
  EXPECT_EQ(s->entry.map.release, "6.1.192");
  EXPECT_THAT(s->note, HasSubstr("no line map for kernel 5.x"));
  EXPECT_THAT(s->note, HasSubstr("6.1.192 (linux-source-6.1 6.1.192-2)"));

  s = pick("6.1.200");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->exact);
  EXPECT_EQ(s->entry.map.release, "6.1.192"); // same series first
  EXPECT_THAT(s->note, HasSubstr("6.1.200"));

  s = pick("7.0.1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->entry.map.release, "6.12.117");
  s = pick("3.2");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->entry.map.release, "3.13.0-116-generic");
  s = pick("3.13.0-117-generic");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->exact);
  EXPECT_EQ(s->entry.map.release, "3.13.0-116-generic");
}

TEST_F(ShippedMaps, AutoUsesTheRunningRelease) {
  auto s = pick("auto", "6.1.0-28-amd64");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->requested, "6.1.0-28-amd64");
  EXPECT_EQ(s->entry.map.release, "6.1.192");
  EXPECT_FALSE(s->exact);
  auto none = pick("auto", "");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Exit::no_map);
}

TEST_F(ShippedMaps, MalformedSpecs) {
  for (std::string spec : {"", "latest", "v6.1", "6.1; rm -rf", "6..\"", "x.13"}) {
    auto s = pick(spec);
    ASSERT_FALSE(s) << spec;
    EXPECT_EQ(s.error().code, Exit::usage);
    EXPECT_THAT(s.error().why, HasSubstr("not a kernel version"));
  }
}

TEST(MapStore, NoEntriesIsAnError) {
  auto s = select_map(std::span<const MapEntry>{}, "6.1", "");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::no_map);
  auto d = load_maps("/nonexistent-maps-dir");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Exit::no_map);
}

TEST(MapStore, AnInvalidFileNamesItself) {
  const std::string dir = std::string(HARNESS_BINARY_DIR) + "/map_store_test_bad";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(make_dirs(dir));
  auto good = locate(synth::synthetic_source(synth::eras().at("3.13")), "3.13.0-1");
  ASSERT_TRUE(good);
  ASSERT_TRUE(save_line_map(dir + "/a.json", *good));
  ASSERT_TRUE(write_file_atomic(dir + "/b.json", "{\"schema\": \"harness.map/1\"}"));
  auto r = load_maps(dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, dir + "/b.json");
  // The same release twice is ambiguous.
  ASSERT_TRUE(save_line_map(dir + "/b.json", *good));
  r = load_maps(dir);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().why, HasSubstr("also mapped by"));
}

TEST(MapStore, ReleaseNumbers) {
  EXPECT_EQ(release_numbers("3.13.0-116-generic"), (std::vector<long>{3, 13, 0, 116}));
  EXPECT_EQ(release_numbers("6.1.192"), (std::vector<long>{6, 1, 192}));
  EXPECT_EQ(release_numbers("6.12.0-rc1"), (std::vector<long>{6, 12, 0}));
  EXPECT_TRUE(release_numbers("auto").empty());
}

} // namespace
} // namespace harness::probes
