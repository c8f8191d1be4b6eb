// The sizes (issue 27, scripts/check-sizes): no source file over 500 lines and no function over
// 80 lines, tables aside, in every library of scripts/check-layers and harness/main.cpp.
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>

namespace harness {
namespace {

namespace fs = std::filesystem;

const std::string kScript = std::string(HARNESS_SOURCE_DIR) + "/scripts/check-sizes";
// The libraries the second test copies to make an offender of each kind.
const std::vector<std::string> kCopied = {"--only", "harness/report", "sender"};

Captured check(const std::vector<std::string>& args) {
  auto r = run_captured(ChildSpec{.exe = kScript, .args = args}, std::chrono::minutes(2));
  EXPECT_TRUE(r);
  return r ? *r : Captured{};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(Sizes, TheWholeTreeStaysWithinTheLimits) {
  const auto r = check({});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("none over 500 lines and no function over 80"), std::string::npos) << r.out;
}

// Appends `text` to `file` under `top`; returns the number of lines the file had before.
std::size_t append(const fs::path& top, const std::string& file, const std::string& text) {
  auto old = read_file((top / file).string());
  EXPECT_TRUE(old);
  if (!old)
    return 0;
  EXPECT_TRUE(write_file_atomic((top / file).string(), *old + text));
  return static_cast<std::size_t>(std::count(old->begin(), old->end(), '\n'));
}

std::string repeated(const std::string& line, int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += line;
  return s;
}

// A copy of two libraries with a long function and a long file: both are named; a long
// table marked as one is not.
TEST(Sizes, ALongFunctionAndALongFileAreNamed) {
  testing::TempDir tmp("sizes");
  const fs::path top = tmp.path();
  for (const std::string& lib : std::vector(kCopied.begin() + 1, kCopied.end())) {
    fs::create_directories((top / lib).parent_path());
    fs::copy(fs::path(HARNESS_SOURCE_DIR) / lib, top / lib,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  const auto args = with({"--top", top.string()}, kCopied);
  ASSERT_EQ(check(args).status.code, 0);
  // 86 lines from its signature to its closing brace.
  const std::size_t before =
      append(top, "sender/seq_set.cpp",
             "int padded(int x) {\n" + repeated("  x += 1;\n", 83) + "  return x;\n}\n");
  append(top, "harness/report/histogram.cpp", repeated("// filler\n", 500));
  append(top, "sender/payload.cpp",
         "// check-sizes: table\nconstexpr int kTable[] = {\n" + repeated("    1,\n", 600) +
             "};\n");
  const auto r = check(args);
  EXPECT_EQ(r.status.code, 1) << r.out;
  EXPECT_NE(r.out.find("sender/seq_set.cpp:" + std::to_string(before + 1) +
                       ": padded is 86 lines (over 80)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("harness/report/histogram.cpp: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lines (over 500)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("sender/payload.cpp"), std::string::npos) << r.out;
}

} // namespace
} // namespace harness
