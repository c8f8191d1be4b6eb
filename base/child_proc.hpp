#pragma once

#include "base/result.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace harness {

struct ExitStatus {
  int code = -1;  // exit code when the child exited normally
  int signal = 0; // the signal that killed it, 0 if it exited
  bool success() const { return signal == 0 && code == 0; }
  std::string describe() const; // "exit status 3" or "killed by SIGKILL"
};

using LineSink = std::function<void(std::string_view line)>;

// What to start. Never a shell: `exe` is a path or a bare name looked up in PATH, `args` are
// passed as they are.
struct ChildSpec {
  std::string exe;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env; // set or override in the inherited env
  std::string cwd;                                      // empty: inherit
  bool own_process_group = true; // so terminal Ctrl-C reaches us, not the child, and we can
                                 // signal the child and all its descendants at once
  // stdin is always /dev/null. Output handling: a sink receives complete lines (without '\n');
  // without a sink the stream is inherited from the parent when `inherit_*` is set, and discarded
  // otherwise.
  LineSink on_stdout;
  LineSink on_stderr;
  bool inherit_stdout = false;
  bool inherit_stderr = false;
};

// A running child process. The interface is small so the orchestrator's unit tests can drive a
// fake; the real one is created by spawn().
class ChildProc {
public:
  virtual ~ChildProc() = default;
  virtual pid_t pid() const = 0;
  // Forwards output to the sinks until the child exits, `timeout` passes, or an interrupt
  // (SIGINT/SIGTERM to harness, see signals.hpp) is pending. Returns the exit status once the
  // child has exited and its output is drained, std::nullopt otherwise.
  virtual std::optional<ExitStatus> wait(std::chrono::milliseconds timeout) = 0;
  // Sends `sig` to the child's process group (or the child alone without one).
  virtual void send_signal(int sig) = 0;
  // SIGINT, then SIGTERM, then SIGKILL, each followed by up to `grace` of waiting; always reaps.
  // Output printed while stopping still reaches the sinks.
  virtual ExitStatus terminate(std::chrono::milliseconds grace) = 0;
  // The exit status if the child has already been reaped.
  virtual std::optional<ExitStatus> exit_status() const = 0;
};

// Returns the absolute path of `name` (searching PATH when it has no '/'), or nullopt.
std::optional<std::string> find_program(std::string_view name);

Result<std::unique_ptr<ChildProc>> spawn(const ChildSpec& spec);

struct Captured {
  ExitStatus status;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs a child to completion (or timeout, then terminates it) and captures both streams.
Result<Captured> run_captured(ChildSpec spec, std::chrono::milliseconds timeout);

// "stap -r /x -p4" for messages and logs; quotes arguments holding spaces.
std::string describe_command(const ChildSpec& spec);

} // namespace harness
