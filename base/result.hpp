#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness {

// Exit statuses are part of the user interface (README "Exit codes"): each cause that stops a
// command gets its own number so scripts and CI can tell them apart.
enum class Exit : int {
  ok = 0,
  anomaly = 1,         // ran, but found something wrong (frames not sent, drift, regression)
  usage = 2,           // bad option, bad input file, bad value
  not_root = 3,        // needs CAP_NET_RAW / root
  interface = 4,       // interface missing or down
  tool_missing = 5,    // the tracer's program (stap, staprun, perf) is not installed
  no_debuginfo = 6,    // no debuginfo or build tree for the target kernel
  lockdown = 7,        // kernel lockdown or module signing refuses unsigned modules
  no_map = 8,          // no line map for the kernel
  tracer_failed = 9,   // the tracer failed to build or load the probes, or died
  tracer_timeout = 10, // the tracer never became ready
  unsupported = 11,    // the kernel lacks a feature (TPACKET_V3 TX, ...)
  vm_failed = 12,      // guest panicked, timed out or never started
  kernel_build = 13,   // preparing or building a kernel failed
  io = 14,             // could not read or write a file, create a socket, start a process
  incomplete = 15,     // ran, found nothing wrong in what it saw, but the tracer lost records
  internal = 70,       // a harness bug (an exception main caught)
  interrupted = 130,   // SIGINT/SIGTERM: partial results were kept
};

// What an exit status means, in a few words for `--help` ("bad option or input"); the README's
// exit table says it at length (tests/cli check the two list the same codes).
std::string_view exit_summary(Exit code);
// Every exit status, in numeric order.
const std::vector<Exit>& all_exits();

// One user-facing failure: printed once by main as `harness: <what>: <why>` then `hint: <hint>`.
struct Error {
  Exit code = Exit::usage;
  std::string what; // the input or step that failed, e.g. "interface eth9" or "--size 9000"
  std::string why;  // what is wrong with it
  std::string hint; // what to do about it; may be empty
};

template <class T> using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Exit code, std::string what, std::string why,
                                   std::string hint = {}) {
  return std::unexpected(Error{code, std::move(what), std::move(why), std::move(hint)});
}

// Renders the two-line user message (no trailing newline on the last line).
std::string format_error(const Error& e);

// `strerror` for an errno value, without the thread-safety trap of strerror().
std::string errno_text(int err);

} // namespace harness
