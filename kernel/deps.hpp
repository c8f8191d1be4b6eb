#pragma once

// The Debian packages `harness demo` needs at run time, checked with dpkg-query and installed
// with apt-get (argv, only the missing ones). Keep in step with scripts/install-deps (its
// `build` run-time part and its `kernel` list).

#include "base/child_proc.hpp"
#include "base/result.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::kernel {

// What `harness demo --kernel SERIES` needs: gcc/make (kernel and stap module builds), both
// tracers (systemtap + systemtap-runtime: stap, staprun, stapio; linux-perf: perf probe for
// kprobe events, the tracer of kernels stap does not support), iproute2 (ip, in the guest too),
// and what building the test kernel and booting it need: linux-source-SERIES (6.1 or 6.12)
// qemu-system-x86 flex bison libelf-dev libssl-dev bc cpio xz-utils zstd kmod libdw-dev.
std::vector<std::string_view> demo_packages(std::string_view series);

// Pure: the packages of `wanted` that `dpkg-query -W -f='${Package} ${Status}\n'` output does
// not show as "install ok installed".
std::vector<std::string> missing_from_dpkg_output(std::string_view output,
                                                  std::span<const std::string_view> wanted);

Result<std::vector<std::string>> missing_packages(std::span<const std::string_view> wanted);

// apt-get install -y --no-install-recommends PKGS (apt-get update and a retry when the first
// attempt fails). Needs root.
Status install_packages(const std::vector<std::string>& packages, const LineSink& on_progress);

} // namespace harness::kernel
