// The layering (docs/DESIGN.md "Layout", scripts/check-layers): every library uses only those
// below it, as its CMakeLists.txt links them and as its include lines name them.
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

namespace harness {
namespace {

namespace fs = std::filesystem;

const std::string kScript = std::string(HARNESS_SOURCE_DIR) + "/scripts/check-layers";

Captured check(const std::vector<std::string>& args) {
  auto r = run_captured(ChildSpec{.exe = kScript, .args = args}, std::chrono::minutes(2));
  EXPECT_TRUE(r);
  return r ? *r : Captured{};
}

TEST(Layers, EveryArrowOfThisTreePointsDown) {
  const auto r = check({});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("points down"), std::string::npos) << r.out;
}

// The libraries of this checkout, copied under `top` for a check to run on.
void copy_libraries(const fs::path& top) {
  for (const char* lib : {"base", "probes", "sender", "kernel", "tracer", "stap", "kprobe",
                          "tracers", "vm", "harness/report", "harness/session", "harness/cli"}) {
    fs::create_directories((top / lib).parent_path());
    fs::copy(fs::path(HARNESS_SOURCE_DIR) / lib, top / lib,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
}

// A copy of the libraries with one include and one link that run up: both are named.
TEST(Layers, AnArrowRunningUpIsNamed) {
  testing::TempDir tmp("layers");
  const fs::path top = tmp.path();
  copy_libraries(top);
  ASSERT_EQ(check({"--top", top.string()}).status.code, 0);
  auto deps = read_file((top / "kernel/deps.hpp").string());
  ASSERT_TRUE(deps);
  ASSERT_TRUE(write_file_atomic((top / "kernel/deps.hpp").string(),
                                "#include \"stap/generate.hpp\"\n" + *deps));
  auto cmake = read_file((top / "probes/CMakeLists.txt").string());
  ASSERT_TRUE(cmake);
  ASSERT_TRUE(write_file_atomic((top / "probes/CMakeLists.txt").string(),
                                *cmake + "target_link_libraries(harness_probes PUBLIC "
                                         "harness_sender)\n"));
  const auto r = check({"--top", top.string()});
  EXPECT_EQ(r.status.code, 1) << r.out;
  EXPECT_NE(r.out.find("kernel/deps.hpp:1: includes stap/generate.hpp (layer 4, not below 2)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("harness_probes links harness_sender (layer 1, not below 1)"),
            std::string::npos)
      << r.out;
}

// A branch on a tracer's name outside the tracers' folders is named; inside them it is theirs.
TEST(Layers, ABranchOnATracersNameOutsideItsFolderIsNamed) {
  testing::TempDir tmp("layers");
  const fs::path top = tmp.path();
  copy_libraries(top);
  for (const char* file : {"harness/session/preflight.cpp", "stap/stap_tracer.cpp"}) {
    auto text = read_file((top / file).string());
    ASSERT_TRUE(text);
    ASSERT_TRUE(write_file_atomic((top / file).string(),
                                  *text + "bool is_kprobe(const std::string& p) {\n"
                                          "  return p.ends_with(\".kprobes\"); // its own\n}\n"));
  }
  const auto r = check({"--top", top.string()});
  EXPECT_EQ(r.status.code, 1) << r.out;
  EXPECT_NE(r.out.find("harness/session/preflight.cpp:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tells the tracers apart outside their folders"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("stap/stap_tracer.cpp"), std::string::npos) << r.out;
}

} // namespace
} // namespace harness
