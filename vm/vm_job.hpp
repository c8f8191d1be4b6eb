#pragma once

// The contract between `harness vm run` (host) and `harness vm-guest` (the guest's init): a job
// file the host writes into the writable share before booting, and a status file the guest
// writes back before powering off. Both are JSON; the share is mounted in the guest at the same
// absolute path it has on the host, so every path in a job means the same file on both sides.

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::vm {

inline constexpr std::string_view job_schema = "harness.vmjob/1";
inline constexpr std::string_view status_schema = "harness.vmstatus/1";
inline constexpr std::string_view job_file_name = "job.json";
inline constexpr std::string_view status_file_name = "status.json";
// 9p mount tag of the writable share (the read-only root is "root").
inline constexpr std::string_view share_tag = "hxshare";

// One program the guest runs (argv, never a shell). Foreground steps run one after the other;
// a background step keeps running (e.g. staprun) until every foreground step has finished, then
// gets SIGINT (so stap runs its `probe end`), SIGTERM, SIGKILL.
struct GuestStep {
  std::string name; // [A-Za-z0-9_.-]+: names the output files <name>.stdout / <name>.stderr
  std::vector<std::string> argv;
  bool background = false;
  std::string ready_text; // background: wait until a stdout line contains it (empty: no wait)
  int timeout_ms = 60000; // foreground: run time; background: time to become ready
  // background: stop it right after this foreground step has finished (empty: at the end), so
  // one VM can run several rounds of probes + workload.
  std::string stop_after;
};

struct GuestVeth {
  std::string tx; // the end frames are sent on
  std::string rx; // its peer
};

struct GuestJob {
  std::vector<std::pair<std::string, std::string>> env; // added to every step's environment
  bool veth = false; // create a veth pair (tx/rx below) and bring both ends and lo up
  GuestVeth veth_names{"hxv0", "hxv1"};
  std::vector<GuestStep> steps;
  std::string result_step;  // whose exit status the VM run returns; empty: the last foreground
  bool echo_output = false; // also copy every step's output to the console (`vm run -v`)
};

struct StepOutcome {
  std::string name;
  int exit_code = -1; // -1 when it did not exit normally
  int signal = 0;     // the signal that ended it
  bool timed_out = false;
  bool started = false;
  bool ready = false; // background steps with ready_text: it appeared
  long elapsed_ms = 0;
  std::string error; // why it could not start / never became ready
};

struct GuestStatus {
  std::vector<StepOutcome> steps;
  int result = -1;    // the exit status the VM run returns (the result step's)
  std::string error;  // a guest-side failure before or between steps (empty: none)
  long uptime_ms = 0; // guest uptime when the status was written
  std::string kernel; // uname -r in the guest
};

std::string job_to_json(const GuestJob& job);
Result<GuestJob> job_from_json(std::string_view text, std::string_view origin);

std::string status_to_json(const GuestStatus& status);
Result<GuestStatus> status_from_json(std::string_view text, std::string_view origin);

// Names usable as file names and interface names in the guest.
bool valid_step_name(std::string_view name);
bool valid_ifname(std::string_view name);

} // namespace harness::vm
