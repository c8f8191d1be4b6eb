#pragma once

// The initramfs a stock kernel boots with (kernel/debian_kernel.hpp). A distribution kernel has
// the guest's 9p root, virtio and veth as modules, so it cannot mount the host's root itself as a
// harness test kernel does (qemu_command.hpp). The initramfs holds harness-vm-preinit as /init
// (vm_preinit.cpp, linked statically) and the modules it loads in order; preinit then mounts the
// host's root over 9p, makes it /, and starts harness as on any other guest.
//
// Pure parts: the modules to load (from each .ko's .modinfo `depends=`), and the archive in the
// kernel's "newc" cpio format (Documentation/driver-api/early-userspace/buffer-format.rst).

#include "base/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace harness::vm {

// What the guest needs as modules on a kernel that does not build them in: the root over 9p
// (virtio_pci, 9pnet_virtio, 9p), `harness run --veth` (veth) and `--tbf-rate` (sch_tbf).
inline constexpr std::string_view kGuestModules[] = {"virtio_pci", "9pnet_virtio", "9p", "veth",
                                                     "sch_tbf"};

// The file preinit looks for to know it runs from harness's initramfs.
inline constexpr std::string_view kInitramfsMarker = "harness-initramfs";

// ---- modules ----

// Pure: a module's name from its file ("kernel/net/9p/9pnet_virtio.ko" -> "9pnet_virtio";
// '-' counts as '_', as the kernel does).
std::string module_name(std::string_view path);

// Pure: the `depends=` list of a module's ELF .modinfo section; an error when the bytes are not
// a 64-bit little-endian ELF file with one.
Result<std::vector<std::string>> modinfo_depends(std::string_view elf);

// Pure: `wanted` and what they depend on, each after its dependencies, built-in ones left out.
// `depends` gives a module's dependencies (an error: that module cannot be read).
using DependsOf = std::function<Result<std::vector<std::string>>(const std::string& name)>;
Result<std::vector<std::string>> load_order(const std::vector<std::string>& wanted,
                                            const DependsOf& depends,
                                            const std::vector<std::string>& builtin);

// A module file's bytes, uncompressed (.ko.xz, .ko.zst and .ko.gz with xz, zstd, gzip).
Result<std::string> module_bytes(const std::string& path);

// The module files of `kGuestModules` in load order, from a kernel's lib/modules/RELEASE
// (modules.order names their paths, modules.builtin the built-in ones).
Result<std::vector<std::string>> guest_module_files(const std::string& modules_dir);

// ---- the archive ----

struct CpioEntry {
  std::string name;       // without a leading '/'
  std::uint32_t mode = 0; // file type and permissions (S_IFREG | 0755, S_IFDIR | 0755, ...)
  std::string data;       // a regular file's contents
  std::uint32_t rdev_major = 0, rdev_minor = 0; // a device node's
};

// Pure: the entries as a newc archive, TRAILER!!! last.
std::string cpio_newc(const std::vector<CpioEntry>& entries);

// Writes the initramfs to `path`: /init = `preinit`, the marker, /dev/console, /newroot and the
// modules as /modules/NN-NAME.ko in load order (uncompressed: finit_module then needs no
// in-kernel decompression).
Status write_guest_initramfs(const std::string& path, const std::string& preinit,
                             const std::vector<std::string>& module_files);

} // namespace harness::vm
