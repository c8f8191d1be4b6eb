#pragma once

// What the kernel builder and the test kernel cache share: a short command run to completion
// (tar, make tinyconfig), progress notes, the CPU count make's -j defaults to, elapsed time.

#include "base/child_proc.hpp"
#include "base/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace harness::kernel {

// Runs a short command (tar, make tinyconfig) to completion; Exit::kernel_build on failure, with
// the end of its output.
Status run_step(const std::string& exe, const std::vector<std::string>& args,
                std::chrono::seconds timeout, const std::string& what);

// The number of online CPUs (at least 1).
int online_cpus();

// A progress note, when anyone listens.
inline void tell(const LineSink& on_progress, const std::string& note) {
  if (on_progress)
    on_progress(note);
}

// Milliseconds since `t`.
long ms_since(std::chrono::steady_clock::time_point t);

} // namespace harness::kernel
