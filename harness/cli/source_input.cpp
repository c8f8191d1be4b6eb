#include "harness/cli/source_input.hpp"

#include "base/files.hpp"
#include "probes/locator.hpp"
#include "probes/source_release.hpp"

namespace harness::cli {

Result<SourceInput> read_source_input(const std::string& path, const std::string& kernel) {
  auto text = read_input("--source", path, probes::kAfPacketSourceHint);
  if (!text)
    return std::unexpected(text.error());
  auto release = probes::release_for_source(path, kernel);
  if (!release)
    return std::unexpected(release.error());
  return SourceInput{path, std::move(*text), std::move(*release)};
}

Result<probes::LineMap> locate_source(const SourceInput& in) {
  auto map = probes::locate(in.text, in.release);
  if (!map) {
    auto e = map.error();
    e.what = in.path;
    return std::unexpected(e);
  }
  return map;
}

} // namespace harness::cli
