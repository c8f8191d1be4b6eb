// The one map selection entry point (kernel/line_map_select.hpp): the same answers as its steps,
// probes::select_map for `--kernel SPEC` alone and probes::select_map_for_source for a target.
#include "kernel/line_map_select.hpp"

#include <gtest/gtest.h>
#include <sys/utsname.h>

namespace harness::kernel {
namespace {

std::string uname_release() {
  struct utsname u {};
  return ::uname(&u) == 0 ? std::string(u.release) : std::string();
}

TEST(SelectLineMap, KernelSpecAloneIsSelectMapWithTheRunningReleaseForAuto) {
  auto maps = probes::load_shipped_maps();
  ASSERT_TRUE(maps) << format_error(maps.error());
  for (const std::string spec : {"6.1", "auto", "3.13"}) {
    auto got = select_line_map({.kernel_spec = spec, .running_kernel = true});
    auto want = probes::select_map(*maps, spec, spec == "auto" ? uname_release() : std::string());
    ASSERT_EQ(got.has_value(), want.has_value()) << spec;
    if (got) {
      EXPECT_EQ(got->entry.file, want->entry.file) << spec;
      EXPECT_EQ(got->exact, want->exact) << spec;
      EXPECT_EQ(got->note, want->note) << spec;
    } else {
      EXPECT_EQ(format_error(got.error()), format_error(want.error())) << spec;
    }
  }
}

TEST(SelectLineMap, TargetReleaseWithoutSourceIsItsShippedMap) {
  auto got = select_line_map({.kernel_spec = "auto", .release = "6.1.192"});
  ASSERT_TRUE(got) << format_error(got.error());
  EXPECT_EQ(got->entry.map.release, "6.1.192");
  EXPECT_TRUE(got->exact);
}

} // namespace
} // namespace harness::kernel
