// The locator on C text (seeded with af_packet.c's top-level definitions, one per seed, and the
// anchored functions together; README "Fuzzing"): every anchor placed or reported lost, never a
// crash; a map it builds must serialise. locate() runs locate_all() and words its problems, so
// one call covers both.
#include "probes/line_map.hpp"
#include "probes/locator.hpp"

#include <cstdint>
#include <string_view>

using namespace harness::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto m = locate(text, "6.1.0-fuzz"))
    (void)line_map_to_json(*m);
  (void)release_from_makefile(text);
  return 0;
}
