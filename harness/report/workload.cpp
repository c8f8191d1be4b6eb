#include "harness/report/workload.hpp"

#include "harness/report/text_util.hpp"

#include <cstring>

namespace harness::report {

std::string workload_end_text(const WorkloadInfo& w) {
  if (w.attached)
    return w.exited ? "attached; it ended during the run" : "attached; still running at the end";
  if (!w.exited)
    return "still running when the run ended";
  std::string s;
  if (w.signal != 0) {
    const char* a = ::sigabbrev_np(w.signal);
    s = std::string("killed by ") + (a ? std::string("SIG") + a : std::to_string(w.signal));
  } else {
    s = "exit status " + std::to_string(w.exit_code);
  }
  if (w.stopped)
    s += " (stopped by harness)";
  return s;
}

void attach_workload(Report& r, WorkloadInfo w) {
  const std::string name = w.argv.empty() ? "the program" : w.argv.front();
  if (!w.success() && !w.stopped) {
    Anomaly a;
    a.kind = "workload_failed";
    a.message = "the workload " + name + " did not succeed: " + workload_end_text(w) +
                (w.stderr_file.empty() ? "" : "; its stderr is in " + w.stderr_file);
    r.anomalies.push_back(std::move(a));
  }
  if (r.frames_total == 0 && !r.partial) {
    Anomaly a;
    a.kind = "no_kernel_records";
    a.message = "no probe record of a TX ring frame of the workload's process (pid " +
                std::to_string(w.pid) + "): it sent nothing through a TX ring, or the probes " +
                "never fired";
    r.anomalies.push_back(std::move(a));
  }
  r.notes.push_back(
      "workload " + name +
      ": frames, ring indices and phases come from the kernel's records alone (the records of "
      "its process, pid " +
      std::to_string(w.pid) +
      ", and its sockets' destructors); only the built-in sender adds the user-side fill and "
      "SEND_REQUEST times (latency and pickup), payload and sequence checks, and the final "
      "audit of every ring slot");
  r.workload = std::move(w);
}

} // namespace harness::report
