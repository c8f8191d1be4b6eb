// Sender records (harness.sender/1): load, render the audit, and join them with a trace the
// way `harness report --sender` does (the first line of the input is kept as trace text).
#include "base/json_text.hpp"
#include "harness/report/analyze.hpp"
#include "harness/report/report.hpp"
#include "sender/send_audit.hpp"
#include "sender/send_record_json.hpp"

#include <cstdint>
#include <string_view>

using namespace harness;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The one parser every JSON file goes through (base/json_text.hpp), strictness included, with
  // the format's keys as `harness report --sender` reads it (harness/report/analyze.cpp).
  const auto j = harness::parse_json(text, sender::sender_record_keys());
  if (!j)
    return 0;
  auto r = sender::sender_record_from_json(*j);
  if (!r)
    return 0;
  (void)sender::format_audit(*r);
  (void)sender::format_frames(*r);
  (void)sender::to_json_text(*r, 1);
  report::AnalyzeInputs in;
  in.sender = std::move(*r);
  report::Analysis analysis(report::AnalyzeOptions{}, std::move(in));
  (void)report::format_report_text(analysis.finish(), 16);
  return 0;
}
