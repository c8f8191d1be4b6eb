#pragma once

// Running build/bin/harness as a user does, for the binary-level tests.

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "temp_dir.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace harness::cli_testing {

inline const std::string kHarness = std::string(HARNESS_BINARY_DIR) + "/bin/harness";

// Debian's af_packet.c of a series ("6.1", "6.12"), extracted at build time (tests/CMakeLists.txt).
inline std::string af_packet(const std::string& series) {
  return std::string(KERNEL_SOURCES_DIR) + "/linux-source-" + series + "/net/packet/af_packet.c";
}

// Runs argv to its end (a hang is CTest's timeout to report, not a time budget here).
inline Captured run(std::vector<std::string> argv, std::vector<std::string> prefix = {}) {
  ChildSpec spec;
  if (prefix.empty()) {
    spec.exe = kHarness;
    spec.args = std::move(argv);
  } else {
    spec.exe = prefix.front();
    spec.args.assign(prefix.begin() + 1, prefix.end());
    spec.args.push_back(kHarness);
    spec.args.insert(spec.args.end(), argv.begin(), argv.end());
  }
  auto r = run_captured(spec, std::chrono::hours(24));
  EXPECT_TRUE(r) << (r ? "" : r.error().why);
  return r ? *r : Captured{};
}

inline Captured harness(std::vector<std::string> argv) {
  return run(std::move(argv));
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using harness::testing::TempDir;

inline std::string copy_to(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  return to;
}

// A fresh directory under the build tree, removed with the object.
class ScratchDir {
public:
  explicit ScratchDir(const std::string& name)
      : path_(std::string(HARNESS_BINARY_DIR) + "/cli_test/" + name + "-" +
              std::to_string(::getpid())) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::create_directories(path_, ec);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// The -O0 test kernel's build tree: $HARNESS_TEST_KERNEL_BUILD (scripts/test-all sets it), else
// what `harness kernel ensure` prints (cached in $HARNESS_CACHE, default /var/cache/harness;
// built first when the cache is cold).
inline std::string test_kernel_build() {
  if (const char* env = std::getenv("HARNESS_TEST_KERNEL_BUILD"); env && *env)
    return env;
  const char* cache = std::getenv("HARNESS_CACHE");
  const auto r =
      harness({"kernel", "ensure", "--cache", cache && *cache ? cache : "/var/cache/harness"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  return r.status.code == 0 ? r.out.substr(0, r.out.find('\n')) : std::string();
}

} // namespace harness::cli_testing
