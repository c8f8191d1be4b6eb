#pragma once

// The tracers harness has, in the order `--backend auto` prefers them (docs/DESIGN.md "Tracers"):
// the one list a new tracer joins (tracers.cpp). Everything above picks a tracer here and then
// only talks to the interface (tracer/tracer.hpp).

#include "base/result.hpp"
#include "tracer/tracer.hpp"
#include "tracer/tracer_choice.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::tracers {

const std::vector<const tracer::Tracer*>& all();

// --backend TEXT: a tracer's name, or "auto" (nullptr). Errors list the names.
Result<const tracer::Tracer*> parse(std::string_view text);
// "auto" for nullptr, else the tracer's name.
std::string name_of(const tracer::Tracer* t);
// The tracer whose prebuilt probes end in the file name's suffix; nullptr for none.
const tracer::Tracer* for_artifact(std::string_view path);
// "auto|stap|kprobe", for usage lines and help texts.
std::string choices();

// What decides the choice on machine `m` for kernel `release` (in_vm: harness's own guest).
tracer::BackendFacts gather_facts(const tracer::Machine& m, const tracer::Tools& tools,
                                  const std::string& release, bool in_vm);
// tracer::choose_backend over all().
Result<tracer::BackendChoice> choose(const tracer::Tracer* requested,
                                     const tracer::BackendFacts& facts);

// The tracer for a kernel build booted in harness's own guest (no lockdown, modules allowed):
// the first one whose tools on this machine support the tree's kernel.
Result<tracer::BackendChoice> choose_for_tree(const std::string& release,
                                              const tracer::Tracer* requested);

} // namespace harness::tracers
