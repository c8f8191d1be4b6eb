#pragma once

// `--source PATH` of `map` and `generate`: an af_packet.c the user names, the kernel release it
// is labelled with, and its anchors located.

#include "base/result.hpp"
#include "probes/line_map.hpp"

#include <string>

namespace harness::cli {

struct SourceInput {
  std::string path;
  std::string text;
  std::string release; // --kernel, else the release its kernel tree's Makefile names
};

Result<SourceInput> read_source_input(const std::string& path, const std::string& kernel);
// The anchors located in the file; an error names the file.
Result<probes::LineMap> locate_source(const SourceInput& in);

} // namespace harness::cli
