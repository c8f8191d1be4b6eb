#pragma once

// The machine the probes run on, as pre-flight and each tracer's own checks read it: a small
// interface, so tests can feed a fake system (files, programs, uid) as well as the real one
// (harness/session/system_view.hpp adds what only pre-flight asks). And the checks' results:
// each one line of what was found, with a cause, a hint and an exit status when it fails.

#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::tracer {

struct CommandOutput {
  int code = -1; // exit code, -1 if it could not run or was killed
  std::string out, err;
};

class Machine {
public:
  virtual ~Machine() = default;
  virtual unsigned euid() const = 0;
  virtual std::string kernel_release() const = 0; // uname -r
  // Whole content of a (small) file, nullopt when it cannot be read.
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  virtual bool exists(const std::string& path) const = 0;
  // The absolute path of a program (PATH lookup without '/'), nullopt if not executable.
  virtual std::optional<std::string> find_program(const std::string& name) const = 0;
  // Runs argv (no shell) with a short timeout.
  virtual CommandOutput run(const std::vector<std::string>& argv) const = 0;
  // Whether an ELF file has DWARF (.debug_info); nullopt when it is not a readable ELF file.
  virtual std::optional<bool> has_debug_info(const std::string& path) const = 0;
};

// unknown: what the check needs to see is not there to read (securityfs or tracefs not
// mounted); doctor never mounts it to find out, and such a check passes no verdict.
enum class CheckState { ok, warn, fail, skip, unknown };
std::string_view check_state_name(CheckState s); // "ok", "warn", "FAIL", "skip", "unknown"

struct Check {
  std::string name; // "root", "stap", "kernel", "modules", "kprobes", "lockdown", ...
  CheckState state = CheckState::ok;
  std::string detail; // what was found
  Error error;        // the failure (state fail) or the caution (warn): why + hint
};

// Appends checks, in the order they are made.
struct Checker {
  std::vector<Check>& out;
  void ok(std::string name, std::string detail);
  void skip(std::string name, std::string detail);
  void warn(std::string name, std::string detail, std::string why, std::string hint = {});
  void unknown(std::string name, std::string detail, std::string hint);
  void failed(std::string name, Exit code, std::string what, std::string why, std::string hint);
};

// The machine harness runs on.
class RealMachine final : public Machine {
public:
  unsigned euid() const override;
  std::string kernel_release() const override;
  std::optional<std::string> read(const std::string& path) const override;
  bool exists(const std::string& path) const override;
  std::optional<std::string> find_program(const std::string& name) const override;
  CommandOutput run(const std::vector<std::string>& argv) const override;
  std::optional<bool> has_debug_info(const std::string& path) const override;
};

// Reads an ELF64 file's section names looking for .debug_info (only the headers are read).
std::optional<bool> elf_has_debug_info(const std::string& path);

// Whether a file system of `type` is mounted at `dir` (/proc/self/mounts): doctor reads what is
// there and never mounts anything to look.
bool fs_mounted(const Machine& m, std::string_view type, std::string_view dir);
inline bool securityfs_mounted(const Machine& m) {
  return fs_mounted(m, "securityfs", "/sys/kernel/security");
}

// The lockdown mode from /sys/kernel/security/lockdown ("none [integrity] confidentiality" ->
// "integrity"); empty when the text has no bracketed mode.
std::string lockdown_mode(std::string_view text);

// A vmlinux with DWARF for a running kernel (distribution debug packages), or nullopt.
std::optional<std::string> find_debug_vmlinux(const Machine& m, const std::string& release);

// CONFIG_X from the build tree's .config, /boot/config-REL or /proc/config.gz: "y", "m", "n"
// (unset) or "" (unknown).
std::string kernel_config(const Machine& m, const std::string& release,
                          const std::string& build_dir, const std::string& option);

// The first line of a program's output, without trailing blanks; a file's text trimmed.
std::string first_line(std::string_view s);
std::string trim(std::string s);

} // namespace harness::tracer
