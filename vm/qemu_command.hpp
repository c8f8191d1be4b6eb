#pragma once

// The qemu command line of a harness VM (docs/tracing-notes.md): the host root over 9p read-only, a
// second writable 9p share for the job and its results, the serial console on stdout, and the
// harness binary itself as init. Pure: builds argv vectors, runs nothing.

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::vm {

enum class Accel { kvm, tcg };
std::string_view to_string(Accel a);

struct QemuConfig {
  std::string kernel_image; // BUILD/arch/x86/boot/bzImage
  std::string share_dir; // absolute host directory, mounted writable in the guest at the same path
  std::string init;      // absolute path of the program the kernel starts as PID 1
  std::vector<std::string> init_args; // passed after `--` on the kernel command line
  // An initramfs whose `init` mounts the root itself (a stock kernel: vm/initramfs.hpp); empty:
  // the kernel mounts the 9p root and starts `init` from it.
  std::string initrd;
  Accel accel = Accel::tcg;
  int memory_mb = 1024;
  // TCG: the guest's TSC runs at the host's rate, but the kernel's calibration against the PIT
  // fails when the host is busy and the guest falls back to 4 ms jiffies timestamps. When set
  // (kHz), `tsc_early_khz=N tsc=reliable` skips that calibration.
  long tsc_khz = 0;
};

// The kernel command line: console on ttyS0, root = the "root" 9p tag read-only, init, panic=-1
// (a panic reboots, and -no-reboot turns that into qemu exiting), then `-- init_args...`. With
// an initrd: rdinit= instead of the root and init.
std::string kernel_command_line(const QemuConfig& cfg);

// Arguments for qemu-system-x86_64 (without argv[0]). Fails when a path cannot be expressed on
// qemu's or the kernel's command line (commas, whitespace, quotes) or is not absolute.
Result<std::vector<std::string>> qemu_arguments(const QemuConfig& cfg);

// Smallest guest memory: stap's module and relay buffers need it.
inline constexpr int kMinGuestMemoryMb = 256;

// What qemu_arguments() refuses in the user's settings (the share directory's path, the guest
// memory), for commands that check them before they create or build anything.
Status check_vm_settings(const std::string& share_dir, int memory_mb);

// A path usable on both command lines: absolute, no whitespace, ',', '"' or control characters.
bool command_line_safe_path(std::string_view path);

} // namespace harness::vm
