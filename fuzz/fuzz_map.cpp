// Line map JSON (probes/maps/*.json): load, and what is loaded must serialise and load again.
#include "probes/line_map.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace harness::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = line_map_from_json(text, "fuzz");
  if (!m)
    return 0;
  (void)map_identity(*m);
  auto again = line_map_from_json(line_map_to_json(*m), "fuzz-again");
  if (!again)
    std::abort(); // what harness writes it must read
  return 0;
}
