#pragma once

// Pre-flight: everything that would make a run fail, checked before any compiling (minutes
// with stap), each with a one-line cause, a hint and its own exit status. `harness doctor`
// prints all of them; `harness run` stops at the first failure.

#include "base/result.hpp"
#include "harness/session/system_view.hpp"
#include "probes/map_store.hpp"
#include "probes/source_map.hpp"
#include "tracer/machine.hpp"
#include "tracer/tracer.hpp"
#include "tracer/tracer_choice.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace harness::session {

using tracer::Check;
using tracer::check_state_name;
using tracer::CheckState;

struct PreflightRequest {
  std::string kernel_spec = "auto"; // --kernel: selects the line map
  std::string build_dir;            // -r DIR: cross-build against a kernel build tree
  tracer::Tools tools;
  // --backend; nullptr: auto. With `artifact`: the tracer whose prebuilt probes it is.
  const tracer::Tracer* backend = nullptr;
  std::string artifact; // --module FILE.ko, --kprobes FILE.kprobes: prebuilt probes
  std::string plan;     // the prebuilt artifact's plan (harness.plan/1)
  std::string iface;    // empty with `veth`
  bool veth = false;
  std::string netns_path;       // interface lives in this namespace (not checked then)
  std::uint32_t attach_pid = 0; // --pid: a running program that chose its own interface
  // Without the target's own af_packet.c, probe the nearest shipped map anyway, once every
  // anchor of `probes` passed the DWARF check; the run is then marked "lines not proven".
  bool allow_nearest = false;
  probes::ProbeSet probes = probes::ProbeSet::all;
};

struct PreflightResult {
  std::vector<Check> checks;
  std::string target_release; // the kernel the probes are for
  std::optional<probes::MapSelection> map;
  std::optional<tracer::BackendChoice> tracer; // set unless the choice itself failed
  bool lines_not_proven = false; // --allow-nearest took a map that is not the kernel's source
  const Check* first_failure() const;
};

// Selects a line map: spec + target release (+ the target's own af_packet.c when a build tree
// has it) -> selection. A test seam; the default is kernel::select_line_map
// (kernel/line_map_select.hpp).
using MapSelector = std::function<Result<probes::MapSelection>(
    std::string_view spec, std::string_view release, const probes::KernelSource* source)>;
MapSelector shipped_map_selector();

PreflightResult run_preflight(const SystemView& sys, const PreflightRequest& req,
                              const MapSelector& select_map);

// One line per check: "  ok    root        uid 0", then "        hint: ..." under failures.
std::string format_checks(const PreflightResult& r);

} // namespace harness::session
