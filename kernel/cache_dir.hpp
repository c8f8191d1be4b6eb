#pragma once

// The harness cache directory: kernels built by `harness kernel build`/`demo`, stock Debian
// kernels fetched by `vm run --debian-kernel`, probe modules, the patched SystemTap runtime,
// stap's own cache and the accelerator verdict.
//
//   <cache>/kernels/<key>/            one prepared + built kernel (source/, build/, kernel.json)
//   <cache>/debian-kernels/<release>/ a stock Debian kernel fetched by package (debian_kernel.hpp)
//   <cache>/modules/<key>/NAME.ko     probe modules by (script sha1, kernel build id, stap flags)
//   <cache>/runtime/<key>/            private copy of stap's runtime with the fixes applied
//   <cache>/stap/                     SYSTEMTAP_DIR for the stap runs harness starts
//   <cache>/accel/<key>               the KVM/TCG verdict of this host
//   <cache>/by-build-id/<id>/         a kernel's own af_packet.c + origin.txt (kernel_source.hpp)
//   <cache>/debuginfod/               DEBUGINFOD_CACHE_PATH of the debuginfod-find runs
//   <cache>/vm/                       default place for VM run directories

#include <initializer_list>
#include <string>
#include <string_view>

namespace harness::kernel {

// --cache DIR, else $HARNESS_CACHE, else /var/cache/harness.
std::string resolve_cache_dir(std::string_view option);

// 16 hex digits of the sha1 of the parts (each terminated by a NUL so "ab","c" != "a","bc").
std::string cache_key(std::initializer_list<std::string_view> parts);

} // namespace harness::kernel
