#pragma once

// The SystemTap tracer behind the one tracer interface (tracer/tracer.hpp): a script generated
// from the plan, compiled by stap into a module (here for `run`, cross-built for a tree by
// `build` and `vm run`), loaded by stap or staprun and supervised while the workload runs.

#include "tracer/tracer.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::stap {

const tracer::Tracer& stap_tracer();

// The options `harness run` gives the installed stap to compile for build_dir (empty: the running
// kernel's /lib/modules/RELEASE/build) on the machine it probes, the same decision as a cross
// build's (stap_tree_args): the patched runtime (-R), -P at -O0, -DSTP_NO_OVERLOAD. Best
// effort: a fact that cannot be read leaves stap's defaults; `say` tells which were chosen.
// With these and stap_data_dir, a module compiled earlier for the same script and tree (by
// another stap sharing the cache) is found in stap's cache instead of compiled again.
std::vector<std::string> run_compile_options(const std::string& build_dir,
                                             const tracer::LineSink& say);

// The newest kernel a SystemTap release builds modules for (session.cxx kernel_version_range,
// docs/DESIGN.md "Tracers"): "4.8/0.188" -> {6, 1}; nullopt for an unknown version.
std::optional<std::pair<int, int>> stap_newest_kernel(std::string_view stap_version);

} // namespace harness::stap
