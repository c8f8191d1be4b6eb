#pragma once

// The kprobe tracer behind the one tracer interface (tracer/tracer.hpp): kprobe_events
// definitions made from the plan with `perf probe -D` against the kernel's DWARF (here for
// `run`, or for a tree by `build` and `vm run`), installed in a private tracefs instance while the
// workload runs (docs/DESIGN.md "kprobe tracer").

#include "tracer/tracer.hpp"

namespace harness::kprobe {

const tracer::Tracer& kprobe_tracer();

} // namespace harness::kprobe
