#pragma once

// The kprobe tracer's pre-flight checks, read through the machine interface (tracer/machine.hpp)
// so tests can give a fake machine: tracefs with kprobe_events, kprobes on, and perf with the
// kernel's DWARF unless the definitions are prebuilt.

#include "tracer/tracer.hpp"

namespace harness::kprobe {

void check_kprobe(const tracer::Machine& m, const tracer::CheckRequest& req, tracer::Checker& c);

} // namespace harness::kprobe
