#pragma once

// Removing probes a kernel build cannot place from a generated script. SystemTap's optional
// probe marker `?` does not cover a statement line without a line-table entry: stap 4.8 fails
// pass 2 with "no line records for ...:415 (try :414 or :417)" even for `probe ... ?`. On a
// kernel built at -O2 several anchor lines have no entry (see `harness verify`), so the build
// drops those probes and records them in the plan as absent: the report then marks the phases
// they would have shown as missing instead of the whole run failing.

#include "generate.hpp"
#include "result.hpp"

#include <span>
#include <string>

namespace harness::kernel {

// Pure. Removes each named anchor's probe (its comment block, the `probe ... {` ... `}` body and
// its HITS line in `probe end`) from the script, moves it from plan.anchors to plan.absent, and
// gives the plan a new id (the script changed). Error when an anchor is not in the plan or its
// probe block cannot be found (a generator format this code does not know).
Result<stap::GeneratedScript> drop_probes(const stap::GeneratedScript& script,
                                          std::span<const std::string> anchors);

} // namespace harness::kernel
