#pragma once

// Fetching by build id from debuginfod servers (elfutils' client, `debuginfod-find`), as stap
// and perf do: the kernel's debuginfo, and a source file by the path its DWARF names
// (docs/tracing-notes.md). The servers are DEBUGINFOD_URLS; downloads are kept in the client's
// cache, which harness points at <harness cache>/debuginfod.

#include "base/result.hpp"

#include <chrono>
#include <string>

namespace harness::kernel {

struct DebuginfodConfig {
  std::string urls;      // DEBUGINFOD_URLS (space separated); empty: no server to ask
  std::string cache_dir; // DEBUGINFOD_CACHE_PATH
  std::string program = "debuginfod-find";
  // A distribution kernel's debuginfo is hundreds of MB.
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

// DEBUGINFOD_URLS from the environment and <cache_dir>/debuginfod.
DebuginfodConfig debuginfod_config(const std::string& harness_cache_dir);

// `debuginfod-find debuginfo ID`: the path of the (cached) file. Errors (Exit::no_debuginfo)
// say what the client answered.
Result<std::string> debuginfod_debuginfo(const DebuginfodConfig& cfg, const std::string& build_id);

// `debuginfod-find source ID PATH` (PATH absolute, as in the DWARF).
Result<std::string> debuginfod_source(const DebuginfodConfig& cfg, const std::string& build_id,
                                      const std::string& dwarf_path);

} // namespace harness::kernel
