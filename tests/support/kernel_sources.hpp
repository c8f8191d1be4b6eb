#pragma once

// Real af_packet.c files from Debian's linux-source-6.1 / linux-source-6.12 packages, extracted
// at build time (tests/CMakeLists.txt) into the build directory. Tests that need them skip,
// naming the reason, when the package was not installed when the build was configured.

#include "base/child_proc.hpp"
#include "base/files.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace harness::probes::synth {

inline std::string extracted_source_path(const std::string& series) {
  return std::string(KERNEL_SOURCES_DIR) + "/linux-source-" + series + "/net/packet/af_packet.c";
}

inline std::optional<std::string> extracted_source(const std::string& series) {
  auto text = read_file(extracted_source_path(series));
  if (!text)
    return std::nullopt;
  return *text;
}

// "6.1.192-2", or empty when the package is not installed.
inline std::string installed_package_version(const std::string& series) {
  ChildSpec spec;
  spec.exe = "dpkg-query";
  spec.args = {"-W", "-f=${Version}", "linux-source-" + series};
  auto r = run_captured(spec, std::chrono::seconds(30));
  if (!r || !r->status.success())
    return {};
  std::string v = r->out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
    v.pop_back();
  return v;
}

inline std::string missing_source_reason(const std::string& series) {
  return "no extracted " + extracted_source_path(series) + ": install linux-source-" + series +
         " (scripts/install-deps --tests) and re-run cmake, which extracts it at build time";
}

} // namespace harness::probes::synth
