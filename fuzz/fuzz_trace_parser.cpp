// The trace parser alone, line by line: the fast target (fuzz_trace runs the whole report
// behind it on every input).
#include "harness/report/trace_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace harness::report;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  TraceParser parser;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      parser.note_truncated_tail(text);
      break;
    }
    (void)parser.feed(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  (void)parser.stats();
  return 0;
}
