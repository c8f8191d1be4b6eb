#pragma once

// Preparing and building probe-friendly kernels, and the cache of Debian-source test kernels
// that `harness demo` and the e2e tests use (cache_dir.hpp has the layout): prepare and build in
// kernel_builder.cpp, the cache of test kernels in test_kernel_cache.cpp.

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "kernel/kernel_config.hpp"
#include "kernel/kernel_variant.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace harness::kernel {

// Marker written into a build directory by prepare: how to build it.
inline constexpr std::string_view build_marker_name = "harness-kernel.json";

struct PrepareRequest {
  std::string source_dir;  // the kernel source tree (created with from_debian)
  std::string build_dir;   // O= directory; empty: SOURCE/build-harness
  bool minimal = false;    // tinyconfig + fragment; otherwise merge into the existing config
  std::string from_debian; // "", "6.1" or "6.12": unpack /usr/src/linux-source-V.tar.xz first
  bool optimised = false;  // the -O2 variant: af_packet.c at the tree's default optimisation
  std::string fragment_text;
  std::string fragment_origin; // for error messages
  LineSink on_progress;
};

struct PrepareResult {
  std::string source_dir, build_dir;
  bool unpacked = false;
  bool makefile_changed = false;
  std::string config_base; // "tinyconfig", "BUILD/.config", "SOURCE/.config"
};

Result<PrepareResult> prepare_kernel(const PrepareRequest& req);

struct BuildRequest {
  std::string build_dir;
  int jobs = 0; // 0: number of CPUs
  // Non-empty: compile through ccache with this cache directory, when ccache is installed. The
  // test kernels' -O0 and -O2 variants share one source and config, so the second build
  // recompiles little more than af_packet.o.
  std::string ccache_dir;
  std::chrono::seconds timeout{std::chrono::hours(3)};
  LineSink on_progress; // "[ 412/~960] CC net/packet/af_packet.o  2m10s"
};

struct BuildResult {
  long elapsed_ms = 0;
  int compiled = 0; // CC lines seen
  std::string log_path;
};

Result<BuildResult> build_kernel(const BuildRequest& req);

// A Debian linux-source test kernel in the cache, built when missing.
struct EnsureRequest {
  std::string series = "6.1"; // linux-source-<series>
  bool optimised = false;     // the -O2 variant
  // A bug-zoo variant (kernel_variant.hpp): its edited af_packet.c goes into its own build
  // directory, cached under its own key; everything else comes from ccache.
  std::optional<KernelVariant> variant;
  std::string cache_dir;
  int jobs = 0;
  LineSink on_progress;
  // The installed SystemTap's version (stap::stap_version()): part of the cache key, because
  // what the cache keeps of a build is what stap compiles modules against.
  std::string stap_version;
};

struct EnsureResult {
  std::string build_dir;
  std::string key;
  bool cached = false;
  long elapsed_ms = 0;
};

Result<EnsureResult> ensure_debian_kernel(const EnsureRequest& req);

// Why the cached kernel entry `kdir` (its `complete` record and build/) cannot be used for this
// request; empty when it can. An entry is checked before use, not trusted by its key alone: the
// record must be for this package version, optimisation and zoo variant, build/vmlinux and the
// bzImage must be there, and vmlinux's build id must be the one recorded when it was built
// (entries made before the build id was recorded skip that comparison).
std::string cached_kernel_problem(const std::string& kdir, std::string_view package_version,
                                  bool optimised, std::string_view variant_name);

// Pure: the cache key of a built test kernel.
std::string kernel_cache_key(std::string_view series, std::string_view package_version,
                             bool optimised, std::string_view fragment_text,
                             std::string_view compiler_version, std::string_view stap_version);

// Pure: "[ 412/~960] CC net/packet/af_packet.o  2m10s" (total 0: no estimate).
std::string build_progress_line(int done, int estimate, std::string_view what, long elapsed_ms);

// Pure: parses a make output line "  CC      net/packet/af_packet.o" -> the object ("" if none).
std::string compiled_object(std::string_view make_line);

// Pure: a rough cold-build estimate for the cache's minimal kernel on `cpus` CPUs.
std::string cold_build_estimate(int cpus);

} // namespace harness::kernel
