// report.json as read by `harness report --baseline`: load, compare with itself and with an
// empty report, render the comparison.
#include "base/json_text.hpp"
#include "harness/report/baseline.hpp"
#include "harness/report/report.hpp"
#include "harness/report/report_json.hpp"

#include <cstdint>
#include <string_view>

using namespace harness::report;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The one parser every JSON file goes through (base/json_text.hpp), strictness included.
  const auto j = harness::parse_json(text);
  if (!j)
    return 0;
  auto base = report_from_json(*j, "fuzz");
  if (!base)
    return 0;
  Report cur = *base;
  cur.comparison = compare_with_baseline(*base, *base, BaselineOptions{}, "fuzz");
  (void)format_report_text(cur, 16);
  Report empty;
  empty.comparison = compare_with_baseline(*base, empty, BaselineOptions{}, "fuzz");
  (void)format_report_text(empty, 16);
  (void)report_json_text(*base);
  return 0;
}
