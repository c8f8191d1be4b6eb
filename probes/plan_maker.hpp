#pragma once

// The probe plan of a line map and a probe set (docs/DESIGN.md "Probe plan"): every anchor of
// the set the map places (and the kernel event anchors), with its function, line, statement and
// the trace keys its records carry, and the plan id that names them all. Tracer-neutral: the
// SystemTap script (stap/generate.hpp) and the kprobe definitions (kprobe/perf_probe.hpp) are
// both made from a plan.

#include "base/result.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"

#include <string>
#include <vector>

namespace harness::probes {

struct PlanOptions {
  // Anchors to leave out, e.g. the lines a kernel build has no line records for (stap 4.8 fails
  // pass 2 on such a line even for an optional `?` probe). Each must be an anchor of the set
  // that the map has; they are listed in plan.absent like the anchors the kernel lacks.
  std::vector<std::string> skip;
};

// `map` is checked again as line_map_from_json would (whatever built it). Each planned probe's
// `probe_point` is its place in SystemTap's probe-point syntax, which the plan id hashes (plan ids
// of earlier runs stay valid).
Result<ProbePlan> make_plan(const LineMap& map, ProbeSet set, const PlanOptions& options = {});

// The stand-ins of `plan` (AnchorDef::stands_in_for) to leave out because an anchor they stand
// in for is planned and not in `unplaceable`: it sees the status store itself.
std::vector<std::string> unneeded_stand_ins(const ProbePlan& plan,
                                            const std::vector<std::string>& unplaceable);

} // namespace harness::probes
