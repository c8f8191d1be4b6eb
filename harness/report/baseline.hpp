#pragma once

// Compares a report with an earlier one (`--baseline OLD.json`) and says what regressed: a phase
// or an always-firing probe that went silent, more frames in a bad outcome, latency percentiles
// beyond the tolerance, new blocking with MSG_DONTWAIT. Other differences become notes.

#include "harness/report/report.hpp"

#include <string>

namespace harness::report {

struct BaselineOptions {
  double tolerance = 0.25;                 // relative, for latency percentiles and rates
  std::uint64_t latency_floor_ns = 10'000; // differences below this never count
};

Comparison compare_with_baseline(const Report& baseline, const Report& current,
                                 const BaselineOptions& options, std::string baseline_file);

} // namespace harness::report
