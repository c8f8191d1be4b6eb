#pragma once

// `harness run --exec -- PROGRAM [ARGS...]`: a program of the user's own as the workload instead
// of the built-in sender (docs/DESIGN.md "Workloads"). It is started with argv (never a shell),
// inside the scratch namespace with --veth (its loopback up too) or the one --netns names,
// after the probes are live; `{iface}` in ARGS becomes the interface's name. Its stdout and stderr
// go to workload.stdout and workload.stderr in the run directory; the report shows the exit status
// and the last lines of each.

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "base/scratch_net.hpp"
#include "harness/report/report.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harness::session {

inline constexpr std::string_view kIfacePlaceholder = "{iface}";
inline constexpr std::size_t kWorkloadTailLines = 10; // lines of each stream in the report

struct ExecRequest {
  std::vector<std::string> argv; // PROGRAM ARGS..., `{iface}` not yet replaced
  std::string iface;             // the interface given (empty with veth)
  bool veth = false;             // make a scratch namespace and veth pair for the program
  std::string netns_path;        // run the program in this namespace (--netns)
  std::string dir;               // the run directory
};

// Every `{iface}` in each argument replaced by `iface`.
std::vector<std::string> substitute_iface(const std::vector<std::string>& argv,
                                          const std::string& iface);

// `run --pid PID`: the running process as the report names it (argv from /proc/PID/cmdline,
// `attached`). Errors: no such process (usage), /proc unreadable.
Result<report::WorkloadInfo> describe_process(std::uint32_t pid);
// The process still exists (a zombie of another parent counts as ended).
bool process_alive(std::uint32_t pid);

class ExecWorkload {
public:
  // Creates the namespace (with veth) and starts the program. Errors: the namespace, the
  // program (not found, not executable), the output files.
  static Result<std::unique_ptr<ExecWorkload>> start(const ExecRequest& req);
  ~ExecWorkload();
  ExecWorkload(const ExecWorkload&) = delete;
  ExecWorkload& operator=(const ExecWorkload&) = delete;

  // Moves the program's output to its files for up to `slice`; true once it has ended.
  bool poll(std::chrono::milliseconds slice);
  // Stops the program (SIGINT, SIGTERM, SIGKILL, `grace` each) when it still runs.
  void stop(std::chrono::milliseconds grace);
  // What the report shows: argv as run, pid, exit status, output tails and files.
  report::WorkloadInfo info() const;
  std::uint32_t pid() const { return pid_; }
  // Removes the scratch namespace (and the veth pair) once the program has ended.
  void release_net() { net_.reset(); }

  struct Stream; // one output stream: its file and its last lines

private:
  ExecWorkload() = default;
  std::optional<ScratchNet> net_;
  std::unique_ptr<ChildProc> child_;
  std::unique_ptr<Stream> out_, err_;
  std::vector<std::string> argv_;
  std::string iface_, netns_;
  std::uint32_t pid_ = 0;
  std::optional<ExitStatus> status_;
  bool stopped_ = false; // harness stopped it (interrupt)
};

} // namespace harness::session
