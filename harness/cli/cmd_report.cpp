// harness report: rebuild the report of a run from its saved outputs.
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/report/offline.hpp"
#include "harness/report/report_html.hpp"

#include <iostream>

namespace harness::cli {

Result<int> cmd_report(const Args& args) {
  const std::string usage =
      "report --trace FILE [--sender FILE] [--plan FILE] [--json FILE] [--html FILE] "
      "[--baseline OLD.json]";
  po::options_description opts("options");
  std::string trace, sender, plan, json, html, baseline, tpacket;
  double tolerance = 25;
  long max_rows = 64;
  opts.add_options()("help,h", "show this help")("trace", po::value(&trace),
                                                 "raw probe output (trace.txt of a run directory)")(
      "sender", po::value(&sender), "the sender's records, harness.sender/1 (sender.json)")(
      "plan", po::value(&plan), "the probe plan, harness.plan/1 (names anchors and lines)")(
      "json", po::value(&json), "also write the report as harness.report/1 JSON to FILE")(
      "html", po::value(&html), "also write the report as one self-contained HTML page to FILE")(
      "baseline", po::value(&baseline),
      "compare with an earlier report.json; exit 1 on regression")(
      "tolerance", po::value(&tolerance)->default_value(25),
      "baseline: allowed latency growth in percent")("tpacket", po::value(&tpacket),
                                                     "v1|v2|v3 when there are no sender records")(
      "max-rows", po::value(&max_rows)->default_value(64),
      "frame rows printed (0: all)")("quiet,q", "print only the verdict line");
  auto parsed = parse_options(args, "report", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << exit_help({{Exit::ok, "every frame accounted for and no regression"},
                            {Exit::anomaly, "anomalies or regression"},
                            {Exit::usage},
                            {Exit::io, "unreadable file"},
                            {Exit::incomplete}});
    return 0;
  }
  if (trace.empty())
    return fail(Exit::usage, "report", "--trace is required",
                "give the raw probe output, e.g. --trace harness-run-*/trace.txt");
  auto tolerance_share = tolerance_fraction(tolerance);
  if (!tolerance_share)
    return std::unexpected(tolerance_share.error());
  if (max_rows < 0)
    return fail(Exit::usage, "--max-rows " + std::to_string(max_rows), "must be 0 or more");

  // Checked before the (possibly long) rebuild; an input is never overwritten.
  if (auto s = check_outputs({{"--json", json}, {"--html", html}}, {trace, sender, plan, baseline});
      !s)
    return std::unexpected(s.error());
  report::OfflineRequest req;
  req.trace_path = trace;
  if (!sender.empty())
    req.sender_path = sender;
  if (!plan.empty())
    req.plan_path = plan;
  if (!baseline.empty())
    req.baseline_path = baseline;
  req.baseline.tolerance = *tolerance_share;
  if (!tpacket.empty()) {
    if (tpacket != "v1" && tpacket != "v2" && tpacket != "v3")
      return fail(Exit::usage, "--tpacket " + tpacket, "must be v1, v2 or v3");
    req.analyze.tpacket = tpacket[1] - '0';
  }
  auto r = report::rebuild_report(req);
  if (!r)
    return std::unexpected(r.error());
  if (!json.empty())
    if (auto s = report::write_report_json(*r, json); !s)
      return std::unexpected(s.error());
  if (!html.empty())
    if (auto s = report::write_report_html(*r, html); !s)
      return std::unexpected(s.error());
  const std::string text =
      report::format_report_text(*r, max_rows == 0 ? SIZE_MAX : static_cast<std::size_t>(max_rows));
  if (parsed->vm.count("quiet"))
    std::cout << text.substr(text.rfind("verdict:"));
  else
    std::cout << text;
  return r->exit_code();
}

} // namespace harness::cli
