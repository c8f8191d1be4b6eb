#pragma once

// The probe script generator: LineMap + probe set -> its plan (probes/plan_maker.hpp) and the
// SystemTap script that probes it.
// Output records follow trace_format.hpp exactly. Everything taken from the map is validated
// first (anchor/function names from the built-in table only, release and sha1 syntax, line
// numbers in range); statement and source text appear only inside comments, sanitised.
//
// `pending` (TX frames in flight, read when the probe fires, i.e. before its line runs): up to
// 3.13 the atomic_t `tx_ring.pending`; since 3.14 a per-cpu refcount (`pending_refcnt`), which
// the script sums over CPUs as packet_read_pending() does (x86 SMP: pointer plus
// __per_cpu_offset[cpu]). Where that cannot be done (UP kernel, > 128 CPUs, a fault) it is `?`,
// never a partial sum.

#include "base/result.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::stap {

struct GeneratedScript {
  std::string text;
  probes::ProbePlan plan;
};

struct GenerateOptions {
  // Anchors to leave out (probes::PlanOptions::skip).
  std::vector<std::string> skip;
};

// `source_text`: the af_packet.c the map was made from; when given (and its sha1 equals the
// map's) each probe is preceded by the source lines it sits on. A source whose sha1 differs is
// an error (the quoted lines would be wrong).
Result<GeneratedScript> generate_script(const probes::LineMap& map, probes::ProbeSet set,
                                        const std::optional<std::string>& source_text,
                                        const GenerateOptions& options);
Result<GeneratedScript> generate_script(const probes::LineMap& map, probes::ProbeSet set,
                                        const std::optional<std::string>& source_text);

// Pure (exposed for tests): the SystemTap expressions that read `key` at `anchor`, in the order
// the script tries them: probes/field_sources.hpp's paths with `$` before the variable and `->`
// for every member. None for a key no variable holds (`state`).
std::vector<std::string> field_expressions(std::string_view anchor, std::string_view key);

} // namespace harness::stap
