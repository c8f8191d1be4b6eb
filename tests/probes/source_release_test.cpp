#include "base/files.hpp"
#include "probes/source_release.hpp"

#include <gtest/gtest.h>

namespace harness::probes {
namespace {

TEST(SourceRelease, GivenReleaseIsValidated) {
  EXPECT_EQ(*release_for_source("/x/af_packet.c", "6.1.192"), "6.1.192");
  auto bad = release_for_source("/x/af_packet.c", "6.1\"; x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Exit::usage);
}

TEST(SourceRelease, ReadsTheTreesMakefile) {
  const std::string tree = std::string(HARNESS_BINARY_DIR) + "/source_release_test_tree";
  ASSERT_TRUE(make_dirs(tree + "/net/packet"));
  ASSERT_TRUE(write_file_atomic(tree + "/Makefile",
                                "VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 7\nEXTRAVERSION =\n"));
  EXPECT_EQ(*release_for_source(tree + "/net/packet/af_packet.c", ""), "5.10.7");
  auto none = release_for_source("/tmp/somewhere/af_packet.c", "");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().hint.find("--kernel"), std::string::npos);
}

} // namespace
} // namespace harness::probes
