#pragma once

// What `harness run` needs from a tracer while it sends (docs/DESIGN.md "Tracers"): probes live
// (READY record written), output moved into the run's trace file while the sender works, a stop
// that writes the HITS and END records and removes everything the tracer installed. The stap
// tracer (a supervised stap/staprun child) and the kprobe tracer (tracefs events) implement it;
// both write the same trace records (probes/trace_format.hpp).

#include "base/child_proc.hpp"
#include "base/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace harness::tracer {

using LineSink = std::function<void(std::string_view)>;
// Starts a child the way harness::spawn does (tests put a fault-injecting stand-in there).
using Launcher = std::function<Result<std::unique_ptr<ChildProc>>(const ChildSpec&)>;

class TracerSession {
public:
  using Clock = std::chrono::steady_clock;
  virtual ~TracerSession() = default;

  // Until the probes are live. Errors: the tracer failed first, `timeout`, SIGINT/SIGTERM.
  virtual Status wait_ready(std::chrono::milliseconds timeout) = 0;
  // Moves output for up to `slice`; the tracer's exit status once it has ended by itself.
  virtual std::optional<ExitStatus> pump(std::chrono::milliseconds slice) = 0;
  // Stops probing, writes the closing records, removes what it installed; always returns.
  virtual ExitStatus stop(std::chrono::milliseconds grace) = 0;
  // Why the tracer ended by itself (`st` from pump), as the error main prints.
  virtual Error failure(const ExitStatus& st, const std::string& while_doing) const = 0;

  virtual bool ended() const = 0;                // the END record was written
  virtual std::uint64_t completions() const = 0; // frames the destructor gave back so far
  virtual Clock::time_point last_output() const = 0;
};

} // namespace harness::tracer
