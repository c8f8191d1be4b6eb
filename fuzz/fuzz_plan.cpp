// Probe plan JSON (harness.plan/1): load, serialise, load again.
#include "probes/probe_plan.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace harness::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = plan_from_json(text, "fuzz");
  if (!p)
    return 0;
  if (!plan_from_json(plan_to_json(*p), "fuzz-again"))
    std::abort(); // what harness writes it must read
  return 0;
}
