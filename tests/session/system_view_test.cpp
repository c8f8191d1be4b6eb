#include "harness/session/system_view.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace harness::session;

TEST(SystemView, ElfDebugInfoOfRealFiles) {
  // system_view_test.cpp is always compiled with -g (tests/session/CMakeLists.txt).
  auto self = elf_has_debug_info("/proc/self/exe");
  ASSERT_TRUE(self);
  EXPECT_TRUE(*self);
  const std::string text = ::testing::TempDir() + "/not-elf." + std::to_string(::getpid());
  std::ofstream(text) << "hello";
  EXPECT_FALSE(elf_has_debug_info(text));
  ::unlink(text.c_str());
  EXPECT_FALSE(elf_has_debug_info("/nonexistent/vmlinux"));
}

TEST(SystemView, RealSystemBasics) {
  RealSystem sys;
  EXPECT_FALSE(sys.kernel_release().empty());
  EXPECT_TRUE(sys.exists("/proc/self"));
  EXPECT_FALSE(sys.exists("/nonexistent"));
  EXPECT_TRUE(sys.read("/proc/self/stat"));
  EXPECT_TRUE(sys.find_program("sh"));
  auto out = sys.run({"printf", "x"});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.out, "x\n"); // captured line by line
  EXPECT_EQ(sys.run({"/nonexistent/prog"}).code, -1);
}
