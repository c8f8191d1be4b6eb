#pragma once

// What a SystemTap cross build needs from the build host beyond `stap -r`:
// - a private copy of stap's runtime with two fixes:
//   * for kernels newer than the runtime (docs/tracing-notes.md, stap pitfall 2: 6.1.y renamed
//     task_work_cancel; stap 4.8 then fails with -Werror=incompatible-pointer-types in
//     runtime/stp_task_work.c);
//   * the relay transport losing every record after the first "transport failure": when a
//     4 KiB sub-buffer has fewer bytes left than a record header, stap 4.8 reserves that
//     remainder anyway, leaves it unwritten and the reader loses the framing (seen in the VM
//     after ~40 KB of trace: 163 of ~1700 records arrived). The patched reserve switches to
//     the next sub-buffer instead, recording the remainder as padding as relay does;
// - a way past the build host's own kernel lockdown, which makes stap 4.8 refuse even a cross
//   build (pitfall 1): stap runs in a private mount namespace in which
//   /sys/kernel/security/lockdown reads "[none]". The module is only loaded on the target.

#include "base/result.hpp"

#include <string>
#include <string_view>

namespace harness::stap {

inline constexpr std::string_view default_stap_runtime = "/usr/share/systemtap/runtime";
inline constexpr std::string_view lockdown_file = "/sys/kernel/security/lockdown";

// "Systemtap translator/driver (version 4.8/0.188, ...)" -> "4.8/0.188"; empty if not found.
std::string parse_stap_version(std::string_view stap_V_output);
// Runs `stap -V` (it prints to stderr).
Result<std::string> stap_version();

// stp_task_work.c still uses the old task_work_cancel (typeof(&task_work_cancel) and the
// kallsyms name "task_work_cancel").
bool runtime_uses_old_task_work_cancel(std::string_view stp_task_work_c);
// Renames every use of the identifier task_work_cancel (not kallsyms_task_work_cancel,
// task_work_cancel_fn...) and the kallsyms lookup string to task_work_cancel_func.
std::string patch_task_work_cancel(std::string_view stp_task_work_c);

// transport/relay_v2.c still has the reserve that can leave a sub-buffer's tail unwritten.
bool runtime_has_relay_tail_bug(std::string_view relay_v2_c);
// Makes _stp_data_write_reserve switch sub-buffers when less than 64 bytes are left; the text
// unchanged when the pattern is not there.
std::string patch_relay_tail(std::string_view relay_v2_c);

struct RuntimeFixes {
  bool task_work_cancel_func = false;
  bool relay_tail = false;
  bool any() const { return task_work_cancel_func || relay_tail; }
};

// Which fixes `runtime` needs for a kernel (task_work: only when the kernel renamed it and the
// runtime still uses the old name).
RuntimeFixes needed_runtime_fixes(const std::string& runtime, bool kernel_renamed_task_work);

// A patched copy of `runtime` under `cache_dir`/runtime/<key>/ (made once, atomically); returns
// its path. Errors: Exit::io, Exit::tool_missing.
Result<std::string> patched_runtime(const std::string& cache_dir, const std::string& runtime,
                                    const std::string& stap_version, RuntimeFixes fixes);

// The runtime stap should use for a kernel: the installed one when it needs no fix (path empty),
// else the patched copy; `note` says which fixes, for progress output. Shared by `harness build`
// (cross builds) and `harness run` (compiling on the machine it probes).
struct RuntimeChoice {
  std::string path; // for `stap -R`; empty: the installed runtime
  std::string note;
};
Result<RuntimeChoice> runtime_for_kernel(bool kernel_renamed_task_work,
                                         const std::string& cache_dir,
                                         const std::string& stap_version);

// stap's data directory (SYSTEMTAP_DIR: its compile cache, stapconf headers and type queries) for
// everything harness runs stap for, `build`, `run` and `verify`: <cache>/stap, shared, so a
// module compiled once for a script, kernel and options is found again by the next stap that
// compiles the same (hash.cxx keys it by all three). Empty for an empty cache_dir.
std::string stap_data_dir(const std::string& cache_dir);

// The selected mode of a lockdown file's text "none [integrity] confidentiality" -> "integrity".
std::string lockdown_mode(std::string_view text);

// When `path` exists and its mode is not "none": moves this process into a private mount
// namespace and bind-mounts a file reading "[none] integrity confidentiality" over `path`, so
// the children started afterwards (stap) see no lockdown. Returns whether it did so. Only for
// single-threaded callers (unshare(CLONE_NEWNS) requirement); idempotent.
Result<bool> hide_build_host_lockdown(const std::string& path = std::string(lockdown_file));

} // namespace harness::stap
