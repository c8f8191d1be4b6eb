#pragma once

// The options that say where a report goes and what it is held against, shared by `run` and
// `report`: --json FILE, --html FILE, --baseline OLD.json, --tolerance PCT, --max-rows N.

#include "harness/cli/options.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace harness::cli {

struct ReportOutputs {
  std::string json, html;              // also written there
  std::optional<std::string> baseline; // compared with
  double tolerance = 0.25;             // baseline: allowed latency growth, as a fraction
  std::size_t max_rows = 64;           // frame rows printed (SIZE_MAX: all)
};

void add_report_output_options(po::options_description& opts);
// The values given, checked: the outputs can be written and are none of `inputs` (nor the
// baseline); `out_dir`: a run directory made later, where a FILE directly in it is fine
// (check_outputs); then the tolerance (0 to 10000 %) and the max rows (0 or more).
Result<ReportOutputs> report_outputs(const po::variables_map& vm, std::vector<std::string> inputs,
                                     const std::string& out_dir = {});

} // namespace harness::cli
