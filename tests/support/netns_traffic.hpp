#pragma once

// Whether frames leave a veth in a network namespace harness made: the event tests wait for
// before they interrupt a sender in its send loop (never a fixed sleep).
#include "base/child_proc.hpp"

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>

namespace harness::testing {

// A link in namespace `ns` has sent packets (`ip -s -o link show`: "TX: bytes packets ...\ B P").
inline bool netns_sends(const std::string& ns) {
  auto l = run_captured({.exe = "ip", .args = {"-n", ns, "-s", "-o", "link", "show"}},
                        std::chrono::seconds(30));
  if (!l)
    return false;
  static const std::regex tx(R"(TX:[^\\]*\\\s+\d+\s+(\d+))");
  for (std::sregex_iterator it(l->out.begin(), l->out.end(), tx), end; it != end; ++it)
    if (std::stoull((*it)[1]) > 0)
      return true;
  return false;
}

// The namespace of harness process `pid` (named hx-PID-...), "" when there is none.
inline std::string netns_of_pid(pid_t pid) {
  const std::string prefix = "hx-" + std::to_string(pid) + "-";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec))
    if (const std::string ns = e.path().filename().string(); ns.starts_with(prefix))
      return ns;
  return {};
}

// `harness send --veth` of process `pid` is past its set-up and in its send loop.
inline bool veth_of_pid_sends(pid_t pid) {
  const std::string ns = netns_of_pid(pid);
  return !ns.empty() && netns_sends(ns);
}

} // namespace harness::testing
