#pragma once

// Facts about a kernel build tree that decide how a probe module is built for it: release,
// GNU build id of vmlinux (the module cache key), where the sources are (O= builds point at them
// through `source`), whether af_packet.c was compiled at -O0 (stap then needs -P,
// docs/tracing-notes.md stap pitfall 3) and whether the kernel renamed task_work_cancel (pitfall
// 2).

#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace harness::kernel {

struct KernelTree {
  std::string build_dir;
  std::string source_dir; // == build_dir for in-tree builds
  std::string release;    // include/config/kernel.release
  std::string build_id;   // hex, from vmlinux's NT_GNU_BUILD_ID note
  // The vmlinux with DWARF: build_dir/vmlinux for a tree; a Debian kernel's -dbg file
  // (kernel/debian_kernel.hpp), whose build_dir holds no kernel build.
  std::string vmlinux;
  std::string debian_version; // a Debian kernel package's version ("6.1.192-3"); "" for a tree
  bool af_packet_O0 = false;
  std::string af_packet_O0_evidence;     // "net/packet/.af_packet.o.cmd: last -O flag is -O0"
  bool task_work_cancel_renamed = false; // include/linux/task_work.h has task_work_cancel_func()
};

// What can be read without requiring a complete tree (no vmlinux, e.g. a distro headers
// package at /lib/modules/RELEASE/build): release, sources, -O0, task_work rename. Never fails;
// a fact that cannot be read keeps its default.
KernelTree kernel_tree_facts(const std::string& build_dir);

// Reads the facts; errors name the missing file and how to get it (Exit::no_debuginfo when the
// tree lacks vmlinux or its config, Exit::usage when DIR is not a kernel build tree).
Result<KernelTree> inspect_kernel_tree(const std::string& build_dir);

// ---- pure helpers, exposed for tests ----

// The optimisation flag gcc applies: the last -O<x> of a Kbuild .cmd command line ("-O0"), or
// empty when there is none.
std::string last_optimisation_flag(std::string_view cmd_text);

// A Kbuild Makefile (net/packet/Makefile) asks for af_packet.o at -O0.
bool makefile_sets_af_packet_O0(std::string_view makefile_text);

// include/linux/task_work.h declares task_work_cancel_func() (6.1.y stable backport of the
// rename; stap 4.8's runtime still calls task_work_cancel with the old signature).
bool header_has_task_work_cancel_func(std::string_view header_text);

// Build ids: kernel/build_id.hpp.

} // namespace harness::kernel
