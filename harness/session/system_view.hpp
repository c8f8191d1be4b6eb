#pragma once

// What pre-flight reads from the machine, behind a small interface so tests can feed it a fake
// system (files, programs, uid) as well as run it against the real one.

#include "base/result.hpp"
#include "kernel/kernel_source.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"
#include "stap/verify.hpp"

#include <optional>
#include <string>
#include <vector>

namespace harness::session {

struct CommandOutput {
  int code = -1; // exit code, -1 if it could not run or was killed
  std::string out, err;
};

class SystemView {
public:
  virtual ~SystemView() = default;
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
  // The target kernel's own af_packet.c (kernel/kernel_source.hpp): the running kernel, or the
  // -r tree's when `build_dir` is set.
  virtual kernel::SourceSearch find_kernel_source(const std::string& release,
                                                  const std::string& build_dir) const = 0;
  // Every anchor of `map` in `set` against the target's DWARF, as `harness verify` does.
  virtual Result<stap::VerifyResult> verify_anchors(const probes::LineMap& map,
                                                    probes::ProbeSet set,
                                                    const std::string& release,
                                                    const std::string& build_dir) const = 0;
};

// The machine harness runs on.
class RealSystem final : public SystemView {
public:
  unsigned euid() const override;
  std::string kernel_release() const override;
  std::optional<std::string> read(const std::string& path) const override;
  bool exists(const std::string& path) const override;
  std::optional<std::string> find_program(const std::string& name) const override;
  CommandOutput run(const std::vector<std::string>& argv) const override;
  std::optional<bool> has_debug_info(const std::string& path) const override;
  kernel::SourceSearch find_kernel_source(const std::string& release,
                                          const std::string& build_dir) const override;
  Result<stap::VerifyResult> verify_anchors(const probes::LineMap& map, probes::ProbeSet set,
                                            const std::string& release,
                                            const std::string& build_dir) const override;
};

// Reads an ELF64 file's section names looking for .debug_info (only the headers are read).
std::optional<bool> elf_has_debug_info(const std::string& path);

} // namespace harness::session
