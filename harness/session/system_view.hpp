#pragma once

// What pre-flight reads from the machine, behind a small interface so tests can feed it a fake
// system (files, programs, uid) as well as run it against the real one.

#include "base/result.hpp"
#include "kernel/kernel_source.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"
#include "stap/verify.hpp"
#include "tracer/machine.hpp"

#include <optional>
#include <string>
#include <vector>

namespace harness::session {

using tracer::CommandOutput;

// The machine as each tracer's checks read it (tracer/machine.hpp), and what only pre-flight asks.
class SystemView : public tracer::Machine {
public:
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
  unsigned euid() const override { return machine_.euid(); }
  std::string kernel_release() const override { return machine_.kernel_release(); }
  std::optional<std::string> read(const std::string& path) const override {
    return machine_.read(path);
  }
  bool exists(const std::string& path) const override { return machine_.exists(path); }
  std::optional<std::string> find_program(const std::string& name) const override {
    return machine_.find_program(name);
  }
  CommandOutput run(const std::vector<std::string>& argv) const override {
    return machine_.run(argv);
  }
  std::optional<bool> has_debug_info(const std::string& path) const override {
    return machine_.has_debug_info(path);
  }
  kernel::SourceSearch find_kernel_source(const std::string& release,
                                          const std::string& build_dir) const override;
  Result<stap::VerifyResult> verify_anchors(const probes::LineMap& map, probes::ProbeSet set,
                                            const std::string& release,
                                            const std::string& build_dir) const override;

private:
  tracer::RealMachine machine_;
};

} // namespace harness::session
