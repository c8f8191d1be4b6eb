#include "harness/session/trace_buffer.hpp"

#include "base/files.hpp"
#include "base/signals.hpp"

#include <algorithm>
#include <cstdlib>

namespace harness::session {
namespace {

constexpr std::uint64_t kMaxKb = 1 << 20; // 1 GiB per CPU
// Without a frame count (--exec, --pid): room for this many frames' records.
constexpr std::uint64_t kUnknownFrames = 100'000;

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

} // namespace

TraceBufferPlan plan_trace_buffer(const tracer::BufferTraits& tracer, const probes::ProbePlan& plan,
                                  std::optional<std::uint64_t> frames,
                                  std::optional<std::uint64_t> asked_kb,
                                  std::uint64_t mem_available_kb, unsigned cpus) {
  // Each planned anchor fires about once per frame (get_status twice, the per-call and error
  // anchors far less): the plan's size is the records of one frame, with room to spare.
  const std::uint64_t records_per_frame = std::max<std::size_t>(plan.anchors.size(), 1);
  const std::uint64_t frame_bytes = records_per_frame * tracer.record_bytes;
  TraceBufferPlan p;
  if (asked_kb) {
    p.kb_per_cpu = *asked_kb;
    p.why = "--trace-buffer";
  } else {
    const std::uint64_t want = ceil_div(frames.value_or(kUnknownFrames) * frame_bytes, 1024);
    const std::uint64_t floor = tracer.default_kb;
    std::uint64_t cap = kMaxKb;
    if (mem_available_kb > 0)
      cap = std::min(cap, mem_available_kb / 4 / std::max(cpus, 1u));
    p.kb_per_cpu = std::max(std::min(want, cap), std::min(floor, cap));
    p.why = frames ? "sized for " + std::to_string(*frames) + " frames" : "sized for a workload";
    if (want > cap)
      p.why += " (a quarter of free memory holds less)";
  }
  p.kb_per_cpu = std::max<std::uint64_t>(p.kb_per_cpu, 4);
  if (tracer.whole_mib) {
    const std::uint64_t mb = std::max<std::uint64_t>(ceil_div(p.kb_per_cpu, 1024), 1);
    p.kb_per_cpu = mb * 1024;
    p.size = std::to_string(mb) + " MiB";
  } else {
    p.size = std::to_string(p.kb_per_cpu) + " KiB";
  }
  p.frames_held = p.kb_per_cpu * 1024 / frame_bytes;
  return p;
}

std::uint64_t mem_available_kb() {
  auto text = read_file("/proc/meminfo");
  if (!text)
    return 0;
  const auto at = text->find("MemAvailable:");
  return at == std::string::npos ? 0 : std::strtoull(text->c_str() + at + 13, nullptr, 10);
}

void Pacer::note(std::uint64_t completions, Clock::time_point last_output) {
  {
    std::lock_guard lock(m_);
    completions_ = completions;
    last_output_ = last_output;
  }
  cv_.notify_all();
}

void Pacer::wait(std::uint64_t queued) {
  std::unique_lock lock(m_);
  const auto behind = [&] {
    return queued > completions_ && queued - completions_ > budget_;
  };
  if (!behind())
    return;
  ++waits_;
  // Only deliveries noted since the wait began count: while the sender held the CPU, the reading
  // thread may not have run at all, and an old last_output says nothing about its backlog.
  const auto t0 = Clock::now();
  while (behind() && !interrupt_requested()) {
    const auto now = Clock::now();
    if (now - std::max(last_output_, t0) >= quiet_)
      break; // nothing delivered for `quiet`: nothing left to deliver
    cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
  waited_ += Clock::now() - t0;
}

std::uint64_t Pacer::waits() const {
  std::lock_guard lock(m_);
  return waits_;
}

std::chrono::milliseconds Pacer::waited() const {
  std::lock_guard lock(m_);
  return std::chrono::duration_cast<std::chrono::milliseconds>(waited_);
}

} // namespace harness::session
