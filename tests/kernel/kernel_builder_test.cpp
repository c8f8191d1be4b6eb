#include "base/files.hpp"
#include "kernel/build_id.hpp"
#include "kernel/kernel_builder.hpp"
#include "kernel_test_util.hpp"

#include <filesystem>
#include <gtest/gtest.h>

namespace harness::kernel {
namespace {

TEST(KernelBuilder, CacheKeyDependsOnEveryInput) {
  const auto base =
      kernel_cache_key("6.1", "6.1.192-2", false, "CONFIG_A=y\n", "gcc 12.2.0", "4.8/0.188");
  EXPECT_EQ(base,
            kernel_cache_key("6.1", "6.1.192-2", false, "CONFIG_A=y\n", "gcc 12.2.0", "4.8/0.188"));
  for (const auto& other :
       {kernel_cache_key("6.12", "6.1.192-2", false, "CONFIG_A=y\n", "gcc 12.2.0", "4.8/0.188"),
        kernel_cache_key("6.1", "6.1.192-3", false, "CONFIG_A=y\n", "gcc 12.2.0", "4.8/0.188"),
        kernel_cache_key("6.1", "6.1.192-2", true, "CONFIG_A=y\n", "gcc 12.2.0", "4.8/0.188"),
        kernel_cache_key("6.1", "6.1.192-2", false, "CONFIG_B=y\n", "gcc 12.2.0", "4.8/0.188"),
        kernel_cache_key("6.1", "6.1.192-2", false, "CONFIG_A=y\n", "gcc 13.1.0", "4.8/0.188"),
        kernel_cache_key("6.1", "6.1.192-2", false, "CONFIG_A=y\n", "gcc 12.2.0", "4.9/0.189")})
    EXPECT_NE(base, other);
}

TEST(KernelBuilder, ProgressLines) {
  EXPECT_EQ(compiled_object("  CC      net/packet/af_packet.o"), "net/packet/af_packet.o");
  EXPECT_EQ(compiled_object("  AS      arch/x86/entry/entry_64.o"), "arch/x86/entry/entry_64.o");
  EXPECT_EQ(compiled_object("  LD      vmlinux.o"), "");
  EXPECT_EQ(compiled_object("make[1]: Entering directory"), "");
  EXPECT_EQ(build_progress_line(412, 960, "net/packet/af_packet.o", 130000),
            "[ 412/~960] net/packet/af_packet.o  2m10s");
  EXPECT_EQ(build_progress_line(1000, 960, "x.o", 5000), "[1000/~1000] x.o  0m05s");
  EXPECT_EQ(build_progress_line(3, 0, "x.o", 0), "[   3] x.o  0m00s");
  EXPECT_EQ(cold_build_estimate(2), "about 6-12 minutes on 2 CPUs");
  EXPECT_EQ(cold_build_estimate(1), "about 10-22 minutes on 1 CPU");
}

// A cache entry as ensure_debian_kernel leaves it: `complete` and build/{vmlinux,bzImage}. This
// test binary stands in for vmlinux: an ELF file with a GNU build id, as the checks need.
struct CachedKernel {
  testing::TempDir dir;
  std::string id;
  CachedKernel() {
    std::filesystem::create_directories(dir.path() + "/build/arch/x86/boot");
    std::filesystem::copy_file("/proc/self/exe", dir.path() + "/build/vmlinux");
    EXPECT_TRUE(write_file_atomic(dir.path() + "/build/arch/x86/boot/bzImage", "bz"));
    id = build_id_of_elf(dir.path() + "/build/vmlinux").value_or("");
    EXPECT_FALSE(id.empty()) << "the test binary has no build id";
  }
  void record(const std::string& json) {
    EXPECT_TRUE(write_file_atomic(dir.path() + "/complete", json));
  }
};

TEST(KernelBuilder, ACachedKernelIsUsedOnlyWhenItsRecordAndFilesFitTheRequest) {
  CachedKernel k;
  const std::string kdir = k.dir.path();
  k.record(R"({"version": "6.1.192-3", "variant": "O0", "zoo_variant": "", "build_id": ")" + k.id +
           "\"}");
  EXPECT_EQ(cached_kernel_problem(kdir, "6.1.192-3", false, ""), "");
  EXPECT_NE(cached_kernel_problem(kdir, "6.1.192-4", false, ""), "");
  EXPECT_EQ(cached_kernel_problem(kdir, "6.1.192-3", true, ""), "built at O0, not O2");
  EXPECT_EQ(cached_kernel_problem(kdir, "6.1.192-3", false, "zoo-snd-spin"),
            "built as zoo variant '', not 'zoo-snd-spin'");
  // A record written before build ids were recorded is still used.
  k.record(R"({"version": "6.1.192-3", "variant": "O0", "zoo_variant": ""})");
  EXPECT_EQ(cached_kernel_problem(kdir, "6.1.192-3", false, ""), "");
  // vmlinux replaced after the build: another build id than the record's.
  k.record(R"({"version": "6.1.192-3", "variant": "O0", "zoo_variant": "", "build_id": "00ff"})");
  EXPECT_EQ(cached_kernel_problem(kdir, "6.1.192-3", false, ""),
            "vmlinux has build id " + k.id + ", the record says 00ff");
  k.record("{\"version\": ");
  EXPECT_NE(cached_kernel_problem(kdir, "6.1.192-3", false, "").find("its record is not JSON"),
            std::string::npos);
}

TEST(KernelBuilder, ACachedKernelWithoutItsImageIsNotUsed) {
  CachedKernel k;
  k.record(R"({"version": "6.1.192-3", "variant": "O2", "zoo_variant": ""})");
  std::filesystem::remove(k.dir.path() + "/build/arch/x86/boot/bzImage");
  EXPECT_EQ(cached_kernel_problem(k.dir.path(), "6.1.192-3", true, ""),
            k.dir.path() + "/build/arch/x86/boot/bzImage is missing or empty");
  std::filesystem::remove(k.dir.path() + "/build/vmlinux");
  EXPECT_EQ(cached_kernel_problem(k.dir.path(), "6.1.192-3", true, ""),
            k.dir.path() + "/build/vmlinux is missing or empty");
}

TEST(KernelBuilder, PrepareRejectsWhatIsNotAKernelTree) {
  testing::TempDir dir;
  PrepareRequest req;
  req.source_dir = dir.path();
  req.fragment_text = "CONFIG_KPROBES=y\n";
  req.fragment_origin = "frag";
  auto r = prepare_kernel(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  EXPECT_NE(r.error().why.find("net/packet/Makefile"), std::string::npos);
  req.from_debian = "5.10";
  r = prepare_kernel(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().why.find("6.1 or 6.12"), std::string::npos);
  req.from_debian.clear();
  req.fragment_text = "CONFIG_X=m\n";
  EXPECT_FALSE(prepare_kernel(req));
}

TEST(KernelBuilder, PrepareEditsTheMakefileOnceAndNeedsAConfig) {
  testing::TempDir dir;
  ASSERT_TRUE(make_dirs(dir.file("net/packet")));
  ASSERT_TRUE(write_file_atomic(dir.file("net/packet/Makefile"), "obj-y += af_packet.o\n"));
  PrepareRequest req;
  req.source_dir = dir.path();
  req.fragment_text = "CONFIG_KPROBES=y\n";
  req.fragment_origin = "frag";
  for (int i = 0; i < 2; ++i) {
    auto r = prepare_kernel(req); // no .config anywhere and not --minimal
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().hint.find("--minimal"), std::string::npos);
  }
  EXPECT_EQ(*read_file(dir.file("net/packet/Makefile")),
            "obj-y += af_packet.o\n# harness: keep tpacket_snd and the status helpers real, "
            "probeable functions\nCFLAGS_af_packet.o = -O0\n");
}

TEST(KernelBuilder, BuildNeedsAPreparedDirectory) {
  testing::TempDir dir;
  BuildRequest req;
  req.build_dir = dir.path();
  auto r = build_kernel(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
}

} // namespace
} // namespace harness::kernel
