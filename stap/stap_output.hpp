#pragma once

// Reading stap's own output: compile progress (`stap -v`: "Pass N: ...") and the failure texts
// worth a cause and a hint instead of a wall of output (docs/tracing-notes.md "SystemTap").

#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace harness::stap {

struct StapProgress {
  int pass = 0;     // 1..5
  std::string what; // "parsed user script and 482 library scripts", "using cached ..."
  std::optional<long> real_ms;
  bool cached = false;
};

// Parses one `stap -v` line; nullopt for anything else.
std::optional<StapProgress> parse_stap_progress(std::string_view line);
// "stap pass 1/5: parse (0.23 s)".
std::string format_stap_progress(const StapProgress& p);

struct StapDiagnosis {
  Exit code = Exit::tracer_failed;
  std::string cause; // one line
  std::string hint;
  std::string evidence; // the line of stap's output that told
};

// The most specific known failure in stap's (or staprun's) output, nullopt if none is known.
std::optional<StapDiagnosis> diagnose_stap_output(std::string_view output);

// What the module says it did not deliver when it stops (DESIGN.md "Lost records"): probes it
// skipped (`WARNING: Number of errors: E, skipped probes: N`: a lock it could not take in time,
// reentrancy, overload), and messages its transport refused (`WARNING: There were N transport
// failures.`: the buffer was full). Each line of stap's output is offered; the last count wins.
struct StapLosses {
  std::uint64_t skipped_probes = 0;
  std::uint64_t transport_failures = 0;
};
void note_stap_losses(std::string_view line, StapLosses& losses);

} // namespace harness::stap
