#include "kernel/build_id.hpp"
#include "kernel/kernel_tree.hpp"
#include "kernel_test_util.hpp"

#include <cstring>
#include <elf.h>
#include <gtest/gtest.h>

namespace harness::kernel {
namespace {

using TempDir = harness::testing::VarTmpDir;

TEST(KernelTree, LastOptimisationFlagWins) {
  EXPECT_EQ(last_optimisation_flag("gcc -Wall -O2 -fno-x -O0 -c -o af_packet.o"), "-O0");
  EXPECT_EQ(last_optimisation_flag("gcc -O2 -DFOO-O0 x.c"), "-O2"); // not a flag of its own
  EXPECT_EQ(last_optimisation_flag("gcc -Os"), "-Os");
  EXPECT_EQ(last_optimisation_flag("gcc -c x.c"), "");
}

TEST(KernelTree, MakefileAndHeaderChecks) {
  EXPECT_TRUE(makefile_sets_af_packet_O0("x\nCFLAGS_af_packet.o = -O0\n"));
  EXPECT_FALSE(makefile_sets_af_packet_O0("CFLAGS_af_packet.o = -O2\n"));
  EXPECT_FALSE(makefile_sets_af_packet_O0("#CFLAGS_af_packet.o = -O0\n"));
  EXPECT_TRUE(header_has_task_work_cancel_func(
      "struct callback_head *task_work_cancel_func(struct task_struct *, task_work_func_t);"));
  EXPECT_FALSE(header_has_task_work_cancel_func(
      "struct callback_head *task_work_cancel(struct task_struct *, task_work_func_t);"));
}

std::string note(uint32_t type, std::string_view name, std::string_view desc) {
  std::string out;
  auto put32 = [&](uint32_t v) {
    out.append(reinterpret_cast<const char*>(&v), 4);
  };
  put32(static_cast<uint32_t>(name.size()));
  put32(static_cast<uint32_t>(desc.size()));
  put32(type);
  out += name;
  out.append((4 - name.size() % 4) % 4, '\0');
  out += desc;
  out.append((4 - desc.size() % 4) % 4, '\0');
  return out;
}

TEST(KernelTree, BuildIdFromNotes) {
  const std::string notes = note(0x100, std::string_view("Linux\0", 6), "abcd") +
                            note(NT_GNU_BUILD_ID, std::string_view("GNU\0", 4), "\xab\x27\xed\x3d");
  EXPECT_EQ(build_id_from_notes(notes), "ab27ed3d");
  EXPECT_FALSE(build_id_from_notes(note(0x100, "GNU", "x")));
  EXPECT_FALSE(build_id_from_notes(notes.substr(0, 30))); // truncated
  EXPECT_FALSE(build_id_from_notes(""));
}

TEST(KernelTree, BuildIdOfARealElfFile) {
  // The test binary itself is linked with a GNU build id on Debian.
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  auto id = build_id_of_elf(std::string(self, static_cast<size_t>(n)));
  ASSERT_TRUE(id) << id.error().why;
  EXPECT_EQ(id->size(), 40u);
  TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("not-elf"), "hello"));
  auto bad = build_id_of_elf(dir.file("not-elf"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Exit::no_debuginfo);
}

TEST(KernelTree, InspectNamesWhatIsMissing) {
  TempDir dir;
  auto none = inspect_kernel_tree(dir.path());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Exit::usage);
  ASSERT_TRUE(write_file_atomic(dir.file("Makefile"), "include x\n"));
  ASSERT_TRUE(write_file_atomic(dir.file(".config"), "CONFIG_64BIT=y\n"));
  auto unbuilt = inspect_kernel_tree(dir.path());
  ASSERT_FALSE(unbuilt);
  EXPECT_EQ(unbuilt.error().code, Exit::no_debuginfo);
  EXPECT_NE(unbuilt.error().why.find("kernel.release"), std::string::npos);
}

} // namespace
} // namespace harness::kernel

namespace harness::kernel {
namespace {

TEST(KernelTree, InspectsAnOutOfTreeBuild) {
  TempDir src, build;
  ASSERT_TRUE(make_dirs(src.path() + "/include/linux"));
  ASSERT_TRUE(make_dirs(src.path() + "/net/packet"));
  ASSERT_TRUE(write_file_atomic(src.file("Makefile"), "VERSION = 6\n"));
  ASSERT_TRUE(write_file_atomic(src.file("include/linux/task_work.h"),
                                "struct callback_head *task_work_cancel_func(struct task_struct "
                                "*, task_work_func_t);\n"));
  ASSERT_TRUE(write_file_atomic(src.file("net/packet/Makefile"), "CFLAGS_af_packet.o = -O0\n"));
  ASSERT_TRUE(make_dirs(build.path() + "/include/config"));
  ASSERT_TRUE(make_dirs(build.path() + "/net/packet"));
  ASSERT_TRUE(write_file_atomic(build.file("Makefile"), "include " + src.file("Makefile")));
  ASSERT_TRUE(write_file_atomic(build.file(".config"), "CONFIG_64BIT=y\n"));
  ASSERT_EQ(::symlink(src.path().c_str(), build.file("source").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(build.file("include/config/kernel.release"), "6.1.192\n"));
  // vmlinux stand-in: any x86_64 ELF file with a GNU build id (this test binary).
  std::error_code ec;
  std::filesystem::copy_file("/proc/self/exe", build.file("vmlinux"), ec);
  ASSERT_FALSE(ec);
  // Without the .cmd file the Makefile decides.
  auto t = inspect_kernel_tree(build.path() + "/");
  ASSERT_TRUE(t) << t.error().why;
  EXPECT_EQ(t->build_dir, build.path());
  EXPECT_EQ(t->source_dir, src.path());
  EXPECT_EQ(t->release, "6.1.192");
  EXPECT_EQ(t->build_id.size(), 40u);
  EXPECT_TRUE(t->af_packet_O0);
  EXPECT_TRUE(t->task_work_cancel_renamed);
  // The compile command is the truth: an -O2 variant built with CFLAGS_af_packet.o= overridden.
  ASSERT_TRUE(
      write_file_atomic(build.file("net/packet/.af_packet.o.cmd"),
                        "savedcmd_net/packet/af_packet.o := gcc -O2 -Wall -c\nsource := x\n"));
  t = inspect_kernel_tree(build.path());
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->af_packet_O0);
  EXPECT_NE(t->af_packet_O0_evidence.find("-O2"), std::string::npos);
}

} // namespace
} // namespace harness::kernel
