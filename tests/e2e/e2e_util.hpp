#pragma once

// What the e2e tests share (vm_e2e_test, kprobe_e2e_test, zoo_e2e_test): the harness binary of
// this build, the kernel cache, running harness to its end, when a VM test cannot run here, and
// finding a probe or phase row in a report.

#include "base/child_proc.hpp"
#include "base/files.hpp"

#include <chrono>
#include <cstdlib>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

namespace harness::e2e {

using json = nlohmann::json;

inline const std::string kHarness = std::string(HARNESS_BINARY_DIR) + "/bin/harness";

// The kernel build cache ($HARNESS_CACHE, default /var/cache/harness).
inline std::string cache_dir() {
  const char* c = std::getenv("HARNESS_CACHE");
  return c && *c ? c : "/var/cache/harness";
}

// Runs build/bin/harness to its end. The default has no real budget: a run that hangs is stopped
// by CTest's timeout (tests/e2e/CMakeLists.txt), a slow one is not a failure.
inline Captured run_harness(const std::vector<std::string>& args,
                            std::chrono::minutes timeout = std::chrono::hours(24)) {
  ChildSpec spec;
  spec.exe = kHarness;
  spec.args = args;
  auto r = run_captured(spec, timeout);
  EXPECT_TRUE(r) << (r ? "" : r.error().why);
  if (!r)
    return {};
  EXPECT_FALSE(r->timed_out) << describe_command(spec);
  return *r;
}

// Why a VM test cannot run on this machine; empty when it can.
inline std::string vm_skip_reason() {
  if (::geteuid() != 0)
    return "needs root (qemu's 9p share of /, and the kernel build cache)";
  if (!find_program("qemu-system-x86_64"))
    return "qemu-system-x86_64 is not installed (scripts/install-deps --kernel installs it)";
  return {};
}

// `harness kernel ensure --cache DIR EXTRA...`: the build directory (cached, or built now).
inline std::string ensure_kernel(const std::vector<std::string>& extra,
                                 std::chrono::minutes timeout = std::chrono::hours(24)) {
  std::vector<std::string> args = {"kernel", "ensure", "--cache", cache_dir()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_harness(args, timeout);
  EXPECT_EQ(r.status.code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

// The report's row of `anchor` under "probes" (a test failure when there is none).
inline const json& probe(const json& report, const std::string& anchor) {
  for (const auto& p : report["probes"])
    if (p["anchor"] == anchor)
      return p;
  static const json none = json::object();
  ADD_FAILURE() << "no probe " << anchor << " in the report";
  return none;
}

// The report's row of phase `name` (a test failure when there is none).
inline const json& phase(const json& report, const std::string& name) {
  for (const auto& p : report["phases"])
    if (p["name"] == name)
      return p;
  static const json none = json::object();
  ADD_FAILURE() << "no phase " << name;
  return none;
}

} // namespace harness::e2e
