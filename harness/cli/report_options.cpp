#include "harness/cli/report_options.hpp"

#include "base/files.hpp"

namespace harness::cli {

void add_report_output_options(po::options_description& opts) {
  opts.add_options()("json", po::value<std::string>(),
                     "also write the report as harness.report/1 JSON to FILE")(
      "html", po::value<std::string>(),
      "also write the report as one self-contained HTML page (timeline, evidence) to FILE")(
      "baseline", po::value<std::string>(),
      "compare with an earlier report.json; exit 1 on regression")(
      "tolerance", po::value<double>()->default_value(25),
      "baseline: allowed latency growth in percent")(
      "max-rows", po::value<long>()->default_value(64), "frame rows printed (0: all)");
}

Result<ReportOutputs> report_outputs(const po::variables_map& vm, std::vector<std::string> inputs,
                                     const std::string& out_dir) {
  ReportOutputs out;
  if (vm.count("json"))
    out.json = vm["json"].as<std::string>();
  if (vm.count("html"))
    out.html = vm["html"].as<std::string>();
  if (vm.count("baseline") && !vm["baseline"].as<std::string>().empty())
    out.baseline = vm["baseline"].as<std::string>();
  inputs.push_back(out.baseline.value_or(""));
  // Checked before the run, not after it: a long run must not end in an unwritable file.
  if (auto s = check_outputs({{"--json", out.json}, {"--html", out.html}}, inputs, out_dir); !s)
    return std::unexpected(s.error());
  auto share = tolerance_fraction(vm["tolerance"].as<double>());
  if (!share)
    return std::unexpected(share.error());
  out.tolerance = *share;
  const long rows = vm["max-rows"].as<long>();
  if (rows < 0)
    return fail(Exit::usage, "--max-rows " + std::to_string(rows), "must be 0 or more");
  out.max_rows = rows == 0 ? SIZE_MAX : static_cast<std::size_t>(rows);
  return out;
}

} // namespace harness::cli
