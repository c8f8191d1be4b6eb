#include "kernel/cache_dir.hpp"

#include <cstdlib>
#include <gtest/gtest.h>

namespace harness::kernel {
namespace {

TEST(CacheDir, OptionThenEnvironmentThenDefault) {
  const char* saved = std::getenv("HARNESS_CACHE");
  const std::string keep = saved ? saved : "";
  ::setenv("HARNESS_CACHE", "/srv/hc", 1);
  EXPECT_EQ(resolve_cache_dir("/opt/c"), "/opt/c");
  EXPECT_EQ(resolve_cache_dir(""), "/srv/hc");
  ::unsetenv("HARNESS_CACHE");
  EXPECT_EQ(resolve_cache_dir(""), "/var/cache/harness");
  if (saved)
    ::setenv("HARNESS_CACHE", keep.c_str(), 1);
}

TEST(CacheDir, KeysSeparateTheirParts) {
  const auto k = cache_key({"a", "bc"});
  EXPECT_EQ(k.size(), 16u);
  EXPECT_EQ(k, cache_key({"a", "bc"}));
  EXPECT_NE(k, cache_key({"ab", "c"}));
  EXPECT_NE(k, cache_key({"a", "bc", ""}));
}

} // namespace
} // namespace harness::kernel
