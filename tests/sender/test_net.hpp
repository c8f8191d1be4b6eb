#pragma once
// Helpers for sender tests that need root and a throwaway network namespace.

#include "base/child_proc.hpp"
#include "base/scratch_net.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace harness::sender::testing {

#define HARNESS_NEEDS_ROOT()                                                                       \
  do {                                                                                             \
    if (::geteuid() != 0)                                                                          \
      GTEST_SKIP() << "needs root: AF_PACKET sockets and network namespaces";                      \
  } while (0)

// Runs `ip ARGS...` and expects success.
inline void ip(const std::vector<std::string>& args) {
  auto r = run_captured(ChildSpec{.exe = "ip", .args = args}, std::chrono::seconds(10));
  ASSERT_TRUE(r) << format_error(r.error());
  ASSERT_TRUE(r->status.success()) << r->err;
}

} // namespace harness::sender::testing
