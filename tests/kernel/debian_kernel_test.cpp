// Stock Debian kernels (kernel/debian_kernel.hpp): the release grammar that guards apt-get's
// command line, and the cache record. Fetching and booting one is tests/e2e/stock_e2e_test.cpp.
#include "base/files.hpp"
#include "kernel/build_id.hpp"
#include "kernel/debian_kernel.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>

namespace harness::kernel {
namespace {

using harness::testing::TempDir;

TEST(DebianKernel, ReleasesAsThePackagesNameThem) {
  for (const char* ok : {"6.1.0-57-amd64", "6.1.0-57-cloud-amd64", "6.1.0-57-rt-amd64",
                         "6.12.118+deb12-amd64", "6.12.118+deb12-cloud-amd64", "5.10.0-30-amd64"})
    EXPECT_TRUE(valid_debian_release(ok)) << ok;
  for (const char* bad :
       {"", "6.1", "6.1.0-57", "6.1.0-amd64", "6.1.0-57-arm64", "6.1-57-amd64", "6.1.0.1-57-amd64",
        "6.1.0-57-amd64 ", "6.1.0-57;ls-amd64", "-6.1.0-57-amd64", "6.1.0--amd64",
        "6.12.118+deb-amd64", "6.12.118+debx12-amd64", "../6.1.0-57-amd64", "6.1.0-57-amd64/..",
        "6.1.0-1234567-amd64"})
    EXPECT_FALSE(valid_debian_release(bad)) << bad;
}

TEST(DebianKernel, SeriesIsTheSourcePackages) {
  EXPECT_EQ(debian_kernel_series("6.1.0-57-amd64"), "6.1");
  EXPECT_EQ(debian_kernel_series("6.12.118+deb12-cloud-amd64"), "6.12");
  EXPECT_EQ(debian_kernel_series("5.10.0-30-amd64"), "5.10");
}

// The stock kernel the demo boots by default: the one linux-image-amd64 depends on, as
// `apt-cache depends linux-image-amd64` prints it (Debian 12, 2026-12).
TEST(DebianKernel, TheCurrentReleaseIsWhatTheMetapackageDependsOn) {
  EXPECT_EQ(release_from_depends("linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n"),
            "6.1.0-57-amd64");
  EXPECT_EQ(release_from_depends("linux-image-cloud-amd64\n"
                                 "  Depends: linux-image-6.1.0-57-cloud-amd64\n"),
            "6.1.0-57-cloud-amd64");
  // A dependency that is no kernel release, then one that is: the valid one.
  EXPECT_EQ(release_from_depends("x\n  Depends: linux-image-6.1;id\n"
                                 "  Depends: linux-image-6.12.118+deb12-amd64\n"),
            "6.12.118+deb12-amd64");
  EXPECT_EQ(release_from_depends(""), std::nullopt);
  EXPECT_EQ(release_from_depends("N: Unable to locate package linux-image-amd64\n"), std::nullopt);
  EXPECT_EQ(release_from_depends("  Depends: linux-image-6.1.0-57-amd64"), "6.1.0-57-amd64")
      << "no newline at the end";
}

// `demo --kernel 6.12` asks linux-image-6.12-amd64 (bookworm carries it beside its default 6.1)
// before linux-image-amd64; no series asks only the default.
TEST(DebianKernel, StockKernelOfASeriesAsksItsOwnMetaPackageFirst) {
  EXPECT_EQ(stock_kernel_metapackages("6.12"),
            (std::vector<std::string>{"linux-image-6.12-amd64", "linux-image-amd64"}));
  EXPECT_EQ(stock_kernel_metapackages(""), (std::vector<std::string>{"linux-image-amd64"}));
}

TEST(DebianKernel, TheErrorNamesTheFormAndHowToListThem) {
  const Error e = invalid_debian_release("--debian-kernel", "6.1");
  EXPECT_EQ(e.code, Exit::usage);
  EXPECT_EQ(e.what, "--debian-kernel 6.1");
  EXPECT_NE(e.why.find("6.1.0-57-amd64"), std::string::npos) << e.why;
  EXPECT_NE(e.hint.find("apt-cache search"), std::string::npos) << e.hint;
}

TEST(DebianKernel, RecordRoundTrip) {
  DebianKernel k;
  k.release = "6.1.0-57-amd64";
  k.version = "6.1.192-3";
  k.build_id = "1f3e2d4c5b6a79880716253443526170a0b0c0d0";
  auto back = parse_debian_kernel_json(debian_kernel_json(k), "/c/debian-kernels/6.1.0-57-amd64");
  ASSERT_TRUE(back) << back.error().why;
  EXPECT_EQ(back->release, k.release);
  EXPECT_EQ(back->version, k.version);
  EXPECT_EQ(back->build_id, k.build_id);
  EXPECT_EQ(back->image, "/c/debian-kernels/6.1.0-57-amd64/boot/vmlinuz-6.1.0-57-amd64");
  EXPECT_EQ(back->vmlinux, "/c/debian-kernels/6.1.0-57-amd64/vmlinux-6.1.0-57-amd64");
  EXPECT_EQ(back->modules, "/c/debian-kernels/6.1.0-57-amd64/lib/modules/6.1.0-57-amd64");
  const KernelTree t = tree_of(*back);
  EXPECT_EQ(t.vmlinux, back->vmlinux);
  EXPECT_EQ(t.debian_version, "6.1.192-3");
  EXPECT_EQ(t.build_id, k.build_id);
}

TEST(DebianKernel, BadRecordsAreRefused) {
  for (const char* bad :
       {"", "[]", R"({"schema":"harness.debian-kernel/2","release":"6.1.0-57-amd64"})",
        R"({"schema":"harness.debian-kernel/1","release":"6.1.0-57-amd64","version":"6.1.192-3"})",
        R"({"schema":"harness.debian-kernel/1","release":"../x","version":"1","build_id":"ab"})",
        R"({"schema":"harness.debian-kernel/1","release":"6.1.0-57-amd64","version":"6.1.192-3",
            "build_id":"not hex"})"})
    EXPECT_FALSE(parse_debian_kernel_json(bad, "/c/d")) << bad;
}

TEST(DebianKernel, AnInvalidReleaseFetchesNothing) {
  TempDir cache;
  auto r = fetch_debian_kernel({.release = "6.1.0-57-amd64; rm -rf /", .cache_dir = cache.path()});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  EXPECT_TRUE(std::filesystem::is_empty(cache.path()));
}

// A cache entry is used only when whole: here a real ELF file (a copy of /bin/true, which has a
// GNU build id) stands where the -dbg vmlinux goes.
TEST(DebianKernel, ACacheEntryIsCheckedBeforeUse) {
  TempDir cache;
  const std::string release = "6.1.0-57-amd64";
  const std::string dir = cache.file(release);
  ASSERT_TRUE(make_dirs(dir + "/boot"));
  ASSERT_TRUE(make_dirs(dir + "/lib/modules/" + release));
  ASSERT_TRUE(write_file_atomic(dir + "/boot/vmlinuz-" + release, "image"));
  auto elf = read_file("/bin/true");
  ASSERT_TRUE(elf);
  ASSERT_TRUE(write_file_atomic(dir + "/vmlinux-" + release, *elf));
  auto id = build_id_of_elf(dir + "/vmlinux-" + release);
  ASSERT_TRUE(id) << "/bin/true has no build id";
  DebianKernel k;
  k.release = release;
  k.version = "6.1.192-3";
  k.build_id = *id;
  ASSERT_TRUE(write_file_atomic(dir + "/kernel.json", debian_kernel_json(k)));
  DebianKernel got;
  EXPECT_EQ(debian_kernel_entry_problem(dir, release, got), "");
  EXPECT_EQ(got.build_id, *id);
  EXPECT_NE(debian_kernel_entry_problem(dir, "6.1.0-58-amd64", got).find("names 6.1.0-57"),
            std::string::npos);

  k.build_id = std::string(40, 'a'); // the vmlinux was replaced (a different kernel's)
  ASSERT_TRUE(write_file_atomic(dir + "/kernel.json", debian_kernel_json(k)));
  EXPECT_NE(debian_kernel_entry_problem(dir, release, got).find("the record says aaaa"),
            std::string::npos);
  k.build_id = *id;
  ASSERT_TRUE(write_file_atomic(dir + "/kernel.json", debian_kernel_json(k)));
  std::filesystem::remove(dir + "/boot/vmlinuz-" + release);
  EXPECT_NE(debian_kernel_entry_problem(dir, release, got).find("is missing or empty"),
            std::string::npos);
  std::filesystem::remove(dir + "/kernel.json");
  EXPECT_NE(debian_kernel_entry_problem(dir, release, got).find("cannot be read"),
            std::string::npos);
}

} // namespace
} // namespace harness::kernel
