#pragma once

// What the files of ReportBuilder (report_builder.hpp) share besides the class:
// report_builder.cpp folds the frames and runs finish(), report_builder_run.cpp fills the
// sections that need no builder state (run, trace, probes), report_builder_anomalies.cpp and
// report_builder_notes.cpp write the findings and the notes.

#include "harness/report/report_builder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace harness::report::builder_detail {

// What finish() reads besides the builder's own counts.
struct Inputs {
  const BuildInputs& in;
  const ParseStats& ps;
  const KernelStats& ks;
};

// Run identity: the READY record, else the plan; the ring from the sender's records. Returns the
// TPACKET version in use (0 when unknown).
int fill_run(RunInfo& run, const Inputs& c);
// Trace facts: what the parser and the correlator counted.
void fill_trace(TraceInfo& tr, const Inputs& c);
// Probes: the plan's, then whatever else the trace mentions.
void list_probes(Report& r, const Inputs& c, int tpacket);
// Without a TPACKET version, a versioned status probe is only expected if no sibling fired.
void settle_versioned_probes(Report& r);

// "seq 3, 4, 9 (and 12 more)", else "ring index ..." for frames without the sender's records.
std::string frames_text(const std::vector<std::uint64_t>& seqs,
                        const std::vector<std::int64_t>& indices, std::uint64_t count);

} // namespace harness::report::builder_detail
