#pragma once

// What the send loop (send_loop.cpp) shares with its send thread (send_thread.cpp): the clocks,
// the pause of a spin and which send() errors are worth retrying (inline: the fill loop reads a
// clock per frame), and the thread itself.

#include "sender/send_record.hpp"
#include "sender/tx_ring.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

namespace harness::sender::loop_detail {

inline std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline std::int64_t realtime_ns() {
  return clock_ns(CLOCK_REALTIME);
}
inline std::int64_t mono_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

inline bool retryable(long r) {
  return r == -EAGAIN || r == -ENOBUFS || r == -EINTR || r == -ETIMEDOUT;
}

// The second thread of --threads: calls blocking send() whenever the filler has published new
// frames, like packet_mmap.c's -t, but every call is bounded (SO_SNDTIMEO) and the thread
// sleeps (bounded) instead of spinning when there is nothing new.
class SendThread {
public:
  SendThread(TxRing& ring, std::vector<FrameRecord>* records, std::uint64_t first)
      : ring_(ring), records_(records), published_(first), covered_(first) {
    thread_ = std::thread([this] { loop(); });
  }
  SendThread(const SendThread&) = delete;
  SendThread& operator=(const SendThread&) = delete;
  ~SendThread() { stop(); }

  void publish(std::uint64_t upto) {
    published_.store(upto);
    if (sleeping_.load()) {
      std::lock_guard lock(mu_);
      cv_.notify_one();
    }
  }
  // Lets the thread finish the published frames, then joins it.
  void stop() {
    if (!thread_.joinable())
      return;
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  std::uint64_t calls() const { return calls_; }
  std::uint64_t retries() const { return retries_; }
  long hard_error() const { return hard_error_.load(); }

private:
  void loop();
  void stamp(std::uint64_t from, std::uint64_t to);

  TxRing& ring_;
  std::vector<FrameRecord>* records_;
  std::atomic<std::uint64_t> published_;
  std::uint64_t covered_;
  std::atomic<bool> done_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<long> hard_error_{0};
  std::uint64_t calls_ = 0, retries_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

} // namespace harness::sender::loop_detail
