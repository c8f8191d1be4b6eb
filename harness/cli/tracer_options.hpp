#pragma once

// The options that pick a tracer, shared by `run`, `vm run`, `build` and `demo`: --backend, and
// each tracer's option for its prebuilt probes (--module FILE.ko, --kprobes FILE.kprobes), made
// from the list of tracers (tracers/tracers.hpp) so a new tracer brings its own.

#include "harness/cli/options.hpp"
#include "tracer/tracer.hpp"

#include <string>
#include <vector>

namespace harness::cli {

// --backend with this help text (after "tracer: ").
void add_backend_option(po::options_description& opts, const std::string& help);
// Each tracer's prebuilt-probes option (the name without "--" as in the variables map).
void add_prebuilt_options(po::options_description& opts);
// The values of those options (for output-path checks).
std::vector<std::string> prebuilt_values(const po::variables_map& vm);

struct TracerPick {
  const tracer::Tracer* backend = nullptr; // nullptr: auto
  std::string artifact;                    // prebuilt probes of `backend`
};

// --backend and the prebuilt probes: at most one prebuilt option, and a --backend that agrees.
Result<TracerPick> tracer_pick(const po::variables_map& vm);

} // namespace harness::cli
