#pragma once

// Which tracer probes a kernel (docs/DESIGN.md "Tracers"). `auto` takes the first tracer of the
// list (tracers/tracers.hpp gives it in order of preference) that can probe the kernel, and says
// why; a tracer asked for by name must be able to. Pure: the facts are gathered by the caller
// (pre-flight, `vm run`, `build`, `doctor`).

#include "base/result.hpp"
#include "tracer/tracer.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::tracer {

struct BackendChoice {
  const Tracer* tracer = nullptr;
  std::string reason; // one sentence, for progress output and doctor
};

// `requested` nullptr: auto. Errors name why the requested tracer cannot probe that kernel and
// hint at one that can, else at a VM.
Result<BackendChoice> choose_backend(const std::vector<const Tracer*>& tracers,
                                     const Tracer* requested, const BackendFacts& facts);

// What the machine says about loading probes into `release`: lockdown, module loading, module
// signing (the tool versions are each tracer's to add).
BackendFacts machine_facts(const Machine& m, std::string release);

// "6.12.118-amd64" -> {6, 12}; "4.8/0.188" -> {4, 8}.
std::optional<std::pair<int, int>> kernel_major_minor(std::string_view release);

// An artifact's NAME: 1-55 of [A-Za-z0-9_], not starting with a digit (a module name, which
// staprun loads the module by).
bool valid_artifact_name(std::string_view name);

} // namespace harness::tracer
