#pragma once

// A stock Debian kernel, the kind people run, fetched by package instead of built: the image
// package (`linux-image-R-unsigned`: the kernel and its modules) and its `-dbg` package (vmlinux
// with DWARF), both with `apt-get download` (apt checks them against the signed archive index),
// kept in the harness cache and checked before each use:
//
//   <cache>/debian-kernels/<release>/boot/vmlinuz-<release>     the kernel image the VM boots
//   <cache>/debian-kernels/<release>/lib/modules/<release>/     its modules (initramfs)
//   <cache>/debian-kernels/<release>/vmlinux-<release>          the -dbg vmlinux (perf probe)
//   <cache>/debian-kernels/<release>/kernel.json                what it is; written last
//
// Its af_packet.c is linux-source-X.Y of the same Debian version (kernel/kernel_source.hpp
// step 3, via KernelTree::debian_version). No build tree is needed or made.

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "kernel/kernel_tree.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::kernel {

struct DebianKernel {
  std::string release;  // "6.1.0-57-amd64": the package name's ABI and flavor, uname -r
  std::string version;  // "6.1.192-3": the packages' Debian version
  std::string dir;      // its cache directory
  std::string image;    // dir/boot/vmlinuz-<release>
  std::string vmlinux;  // dir/vmlinux-<release>, with DWARF
  std::string modules;  // dir/lib/modules/<release>
  std::string build_id; // of vmlinux (the booted kernel shows the same in /sys/kernel/notes)
};

// Pure: a Debian kernel release as the package names spell it: ABI "X.Y.Z-N" (6.1.0-57) or a
// backport's "X.Y.Z+debN" (6.12.118+deb12), then a flavor ("amd64", "cloud-amd64",
// "rt-amd64"). Only these characters reach apt-get's command line.
bool valid_debian_release(std::string_view release);

// Pure: the kernel series of a valid release ("6.1.0-57-amd64" -> "6.1"): its linux-source-X.Y.
std::string debian_kernel_series(std::string_view release);

// Pure: the release `apt-cache depends linux-image-amd64` names (its "Depends:
// linux-image-RELEASE" line), i.e. the stock kernel Debian ships now; nullopt when it names none
// that is valid.
std::optional<std::string> release_from_depends(std::string_view apt_cache_out);

// Pure: the meta-packages whose dependency names the stock kernel of `series`, most specific
// first: linux-image-SERIES-amd64 (bookworm carries linux-image-6.12-amd64 beside its default),
// then linux-image-amd64 (the default kernel). Empty series: the default only.
std::vector<std::string> stock_kernel_metapackages(std::string_view series);

// The stock kernel Debian ships now (apt-cache, no download): of `series` ("6.1", "6.12"), the
// first meta-package's that names a kernel of that series; with none, the default kernel.
Result<std::string> current_debian_release(std::string_view series = {});

// The `--debian-kernel` error for a release that is not one (names the form and examples).
Error invalid_debian_release(std::string_view option, std::string_view release);

struct DebianKernelRequest {
  std::string release;
  std::string cache_dir; // resolve_cache_dir's
  LineSink on_progress;
};

// The kernel from the cache when its entry is whole (files present, vmlinux's build id the one
// recorded), else downloaded and unpacked (about 930 MB for the generic flavor, once). A broken
// entry is fetched again, with a line saying why.
Result<DebianKernel> fetch_debian_kernel(const DebianKernelRequest& req);

// Why the cache entry in `dir` cannot be used ("" when it can: its record is valid and names
// `release`, the files are there, vmlinux has the recorded build id; `k` is then set).
std::string debian_kernel_entry_problem(const std::string& dir, const std::string& release,
                                        DebianKernel& k);

// The facts the tracers use to make probes for it (vmlinux, release, build id, Debian version;
// build_dir is its cache directory, which holds no kernel build).
KernelTree tree_of(const DebianKernel& k);

// Pure: kernel.json's text for `k`, and `k` read back from it (dir given).
std::string debian_kernel_json(const DebianKernel& k);
Result<DebianKernel> parse_debian_kernel_json(std::string_view text, const std::string& dir);

} // namespace harness::kernel
