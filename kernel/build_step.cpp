#include "kernel/build_step.hpp"

#include "base/child_proc.hpp"

#include <unistd.h>

namespace harness::kernel {

long ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

int online_cpus() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

Status run_step(const std::string& exe, const std::vector<std::string>& args,
                std::chrono::seconds timeout, const std::string& what) {
  ChildSpec spec;
  spec.exe = exe;
  spec.args = args;
  auto r = run_captured(spec, timeout);
  if (!r)
    return fail(Exit::kernel_build, what, r.error().why, r.error().hint);
  if (r->timed_out)
    return fail(Exit::kernel_build, what,
                "did not finish within " + std::to_string(timeout.count()) + " s");
  if (!r->status.success()) {
    std::string err = r->err.empty() ? r->out : r->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
      err.pop_back();
    if (err.size() > 600)
      err = "..." + err.substr(err.size() - 600);
    return fail(Exit::kernel_build, what, r->status.describe() + ": " + err);
  }
  return {};
}

} // namespace harness::kernel
