// The kprobe tracer's trace format: tracefs lines (kprobe/trace_lines.hpp) translated with the
// definitions and plan of the real 6.12 capture (tests/fixtures/traces/README). Every record the
// translator writes must be one the trace parser reads: the two tracers share parser, correlator
// and report, and fuzz_trace covers those.
#include "harness/report/trace_parser.hpp"
#include "kprobe/definitions.hpp"
#include "kprobe/trace_lines.hpp"
#include "probes/probe_plan.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const std::string kCapture =
    std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/6.12.118-O0-v2-20frames-ring8-kprobe";

struct Fixture {
  harness::kprobe::KprobeDefs defs;
  harness::probes::ProbePlan plan;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    auto defs = harness::kprobe::load_defs(kCapture + ".kprobes");
    auto plan = harness::probes::load_plan(kCapture + ".plan.json");
    if (!defs || !plan)
      std::abort(); // the fixture is part of the repository
    return Fixture{*defs, *plan};
  }();
  return f;
}

// Names the broken promise with the line and what was written, then stops (a crash for
// libFuzzer).
[[noreturn]] void broken(const char* promise, std::string_view line, const std::string& out) {
  std::fprintf(stderr, "fuzz_tracefs_lines: %s\n  line: %.*s\n  wrote: %s\n", promise,
               static_cast<int>(line.size()), line.data(), out.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const Fixture& f = fixture();
  // The clock offset comes from the input's size: both signs, and none.
  const std::int64_t offset = static_cast<std::int64_t>(size % 3) - 1;
  harness::kprobe::LineTranslator tr(f.defs, f.plan, offset * 1'000'000'000,
                                     [](std::uint32_t tid) { return tid / 2; });
  harness::report::TraceParser parser;
  std::string out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    out.clear();
    if (!tr.translate(line, out)) {
      if (!out.empty())
        broken("a line that is not a record wrote something", line, out);
      continue;
    }
    if (out.empty() || out.back() != '\n' || out.find('\n') != out.size() - 1)
      broken("a record is not one line", line, out);
    out.pop_back();
    if (!parser.feed(out))
      broken("the trace parser rejects the record", line, out);
  }
  return 0;
}
