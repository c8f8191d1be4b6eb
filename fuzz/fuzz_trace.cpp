// The trace parser and everything behind it (reorder window, correlator, report) on arbitrary
// bytes, with and without sender records; the report must render and serialise, and what it
// serialises must load again (a report.json is a later run's baseline).
#include "base/json_text.hpp"
#include "base/result.hpp"
#include "harness/report/analyze.hpp"
#include "harness/report/report.hpp"
#include "harness/report/report_json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

using namespace harness::report;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  AnalyzeOptions opt;
  opt.tpacket = size % 4; // 0: unknown, else the version
  Analysis analysis(opt, AnalyzeInputs{});
  feed_trace_text(text, analysis);
  Report r = analysis.finish();
  (void)format_report_text(r, 16);
  const std::string written = report_json_text(r);
  const auto j = harness::parse_json(written);
  if (!j)
    std::abort(); // harness wrote JSON it cannot parse
  if (auto again = report_from_json(*j, "fuzz"); !again) {
    std::fprintf(stderr, "fuzz_trace: the report harness wrote does not load: %s\n",
                 harness::format_error(again.error()).c_str());
    std::abort(); // what harness writes as a report it must read as a baseline
  }
  return 0;
}
