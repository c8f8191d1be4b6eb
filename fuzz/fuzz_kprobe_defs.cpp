// kprobe definitions (`harness.kprobes/1`, kprobe/definitions.hpp): their lines are written into
// the kernel's kprobe_events, so whatever loads must pass the grammar checks, make one-line
// install commands and serialise and load again.
#include "kprobe/definitions.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace harness::kprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto defs = defs_from_json(text, "fuzz");
  if (!defs)
    return 0;
  for (const auto& e : defs->events) {
    if (!valid_event_name(e.event) || !valid_probe_location(e.probe))
      std::abort(); // loaded means valid
    for (const auto& a : e.args)
      if (!valid_fetch_arg(a))
        std::abort();
    for (char c : install_line("harness_1", e))
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        std::abort(); // one line, nothing a terminal or kprobe_events would act on
  }
  auto again = defs_from_json(defs_to_json(*defs), "fuzz-again");
  if (!again || again->events.size() != defs->events.size())
    std::abort(); // what harness writes it must read
  return 0;
}
