#pragma once

// The SystemTap tracer behind the one tracer interface (tracer/tracer.hpp): a script generated
// from the plan, compiled by stap into a module (here for `run`, cross-built for a tree by
// `build` and `vm run`), loaded by stap or staprun and supervised while the workload runs.

#include "tracer/tracer.hpp"

#include <optional>
#include <string_view>
#include <utility>

namespace harness::stap {

const tracer::Tracer& stap_tracer();

// The newest kernel a SystemTap release builds modules for (session.cxx kernel_version_range,
// docs/DESIGN.md "Tracers"): "4.8/0.188" -> {6, 1}; nullopt for an unknown version.
std::optional<std::pair<int, int>> stap_newest_kernel(std::string_view stap_version);

} // namespace harness::stap
