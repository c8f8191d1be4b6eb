#pragma once

// How much the tracer may hold before it loses records, and the sender's pace around it
// (docs/DESIGN.md "Lost records"). A tracer loses records when the kernel writes them faster than
// they are read and its buffer is full: the kprobe tracer's ring buffer overwrites the oldest,
// stap's transport refuses the newest. So `harness run` sizes the buffer for the run (frames x
// records per frame x bytes per record, within a share of free memory) and, with pacing on, the
// sender waits before a send() while the tracer is more than the buffer's worth behind.

#include "probes/probe_plan.hpp"
#include "tracer/tracer.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace harness::session {

struct TraceBufferPlan {
  std::uint64_t kb_per_cpu = 0;  // what the tracer is given (one taking whole MiB rounds up)
  std::uint64_t frames_held = 0; // frames' records the buffer holds
  std::string size;              // "16 MiB", "4096 KiB"
  std::string why;               // one line for the progress output
};

// `asked_kb`: --trace-buffer (then nothing is sized); `frames`: the built-in sender's count
// (unknown for --exec and --pid); `mem_available_kb` / `cpus`: the machine's (0: unknown). The
// automatic size holds every record of the run, at least the tracer's usual default (4 MiB for
// kprobe, 16 MiB for stap: tracer::BufferTraits) and at most a quarter of free memory over the
// CPUs, or 1 GiB.
TraceBufferPlan plan_trace_buffer(const tracer::BufferTraits& tracer, const probes::ProbePlan& plan,
                                  std::optional<std::uint64_t> frames,
                                  std::optional<std::uint64_t> asked_kb,
                                  std::uint64_t mem_available_kb, unsigned cpus);

// MemAvailable of /proc/meminfo in KiB, 0 when unknown.
std::uint64_t mem_available_kb();

// Lets the sender run at most `budget` frames ahead of what the tracer delivered (its
// completions: destructor records), waiting before a send() while the tracer keeps delivering.
// A tracer that delivered nothing for `quiet` since the wait began has nothing left to deliver
// (frames that never complete, a plan without the destructor probe): the sender goes on.
// Thread-safe: the main thread notes the tracer's progress, the sender thread waits.
class Pacer {
public:
  using Clock = std::chrono::steady_clock;
  Pacer(std::uint64_t budget, std::chrono::milliseconds quiet) : budget_(budget), quiet_(quiet) {}

  void note(std::uint64_t completions, Clock::time_point last_output);
  // Returns when the tracer caught up, went quiet, or an interrupt arrived.
  void wait(std::uint64_t queued);

  std::uint64_t waits() const;              // sends that waited
  std::chrono::milliseconds waited() const; // in total

private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::uint64_t budget_;
  std::chrono::milliseconds quiet_;
  std::uint64_t completions_ = 0;
  Clock::time_point last_output_{};
  std::uint64_t waits_ = 0;
  Clock::duration waited_{};
};

} // namespace harness::session
