// harness report: rebuild the report of a run from its saved outputs.
#include "base/files.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/report_options.hpp"
#include "harness/report/offline.hpp"
#include "harness/report/report_html.hpp"

#include <iostream>

namespace harness::cli {

Result<int> cmd_report(const Args& args) {
  const std::string usage =
      "report --trace FILE [--sender FILE] [--plan FILE] [--json FILE] [--html FILE] "
      "[--baseline OLD.json]";
  po::options_description opts("options");
  std::string trace, sender, plan, tpacket;
  opts.add_options()("help,h", "show this help")(
      "trace", po::value(&trace),
      "raw probe output (trace.txt of a run directory; - reads standard input)")(
      "sender", po::value(&sender), "the sender's records, harness.sender/1 (sender.json)")(
      "plan", po::value(&plan), "the probe plan, harness.plan/1 (names anchors and lines)")(
      "tpacket", po::value(&tpacket), "v1|v2|v3 when neither sender records nor the trace say it")(
      "quiet,q", "print only the verdict line");
  add_report_output_options(opts);
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
  // Checked before the (possibly long) rebuild; an input is never overwritten.
  auto outputs = report_outputs(parsed->vm, {trace, sender, plan});
  if (!outputs)
    return std::unexpected(outputs.error());
  const std::string& json = outputs->json;
  const std::string& html = outputs->html;
  report::OfflineRequest req;
  req.trace_path = trace;
  if (!sender.empty())
    req.sender_path = sender;
  if (!plan.empty())
    req.plan_path = plan;
  req.baseline_path = outputs->baseline;
  req.baseline.tolerance = outputs->tolerance;
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
  const std::string text = report::format_report_text(*r, outputs->max_rows);
  if (parsed->vm.count("quiet"))
    std::cout << text.substr(text.rfind("verdict:"));
  else
    std::cout << text;
  return r->exit_code();
}

} // namespace harness::cli
