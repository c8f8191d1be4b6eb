// The trace parser and everything behind it (reorder window, correlator, report) on arbitrary
// bytes, with and without sender records; the report must render and serialise.
#include "analyze.hpp"
#include "report.hpp"
#include "report_json.hpp"

#include <cstddef>
#include <cstdint>
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
  (void)report_json_text(r);
  return 0;
}
