// The send thread of --threads (SendThread, send_loop_internal.hpp): blocking send() calls for
// the frames the filler publishes, bounded, and their send times in the frame records.
#include "base/signals.hpp"
#include "sender/send_loop_internal.hpp"

#include <poll.h>

namespace harness::sender::loop_detail {

void SendThread::loop() {
  for (;;) {
    const std::uint64_t target = published_.load();
    if (target == covered_) {
      if (done_.load())
        return;
      // Spin briefly (the filler publishes often when it is fast), then sleep, bounded.
      bool fresh = false;
      for (int i = 0; i < 2000 && !fresh; ++i) {
        cpu_relax();
        fresh = published_.load() != covered_ || done_.load();
      }
      if (!fresh) {
        std::unique_lock lock(mu_);
        sleeping_.store(true);
        cv_.wait_for(lock, std::chrono::milliseconds(2),
                     [&] { return published_.load() != covered_ || done_.load(); });
        sleeping_.store(false);
      }
      continue;
    }
    const long r = ring_.send(false);
    ++calls_;
    if (r >= 0) {
      stamp(covered_, target);
      covered_ = target;
      continue;
    }
    if (retryable(r)) {
      ++retries_;
      if (done_.load() || interrupt_requested())
        return; // the drain takes over
      pollfd p{ring_.fd(), POLLOUT, 0};
      ::poll(&p, 1, 1);
      continue;
    }
    hard_error_.store(r);
    return;
  }
}

void SendThread::stamp(std::uint64_t from, std::uint64_t to) {
  if (!records_)
    return;
  const std::int64_t t = realtime_ns();
  for (std::uint64_t s = from; s < to && s < records_->size(); ++s)
    (*records_)[s].t_send_ns = t;
}

} // namespace harness::sender::loop_detail
