#pragma once

// Puts EV records back in timestamp order. stap writes each CPU's records through its own
// buffer, so lines from several CPUs arrive interleaved and slightly out of order. Records are
// held until a later record is `window_ns` newer (or the window holds `max_records`), then
// released oldest first. Memory is bounded by `max_records`, whatever the trace length. A record
// older than one already released is released at once and counted as late.

#include "trace_record.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace harness::report {

class ReorderWindow {
public:
  ReorderWindow(std::uint64_t window_ns, std::size_t max_records)
      : window_ns_(window_ns), max_(max_records ? max_records : 1), buf_(max_ + 1) {}

  template <class Release> void push(const TraceRecord& r, Release&& release) {
    if (released_any_ && r.ts_ns < last_released_) {
      ++late_;
      release(r);
      return;
    }
    if (size_ == 0 || at(size_ - 1).ts_ns <= r.ts_ns) {
      at(size_) = r;
    } else {
      ++reordered_;
      // Equal timestamps keep their arrival order: insert after the last record <= r.
      std::size_t lo = 0, hi = size_;
      while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (at(mid).ts_ns <= r.ts_ns)
          lo = mid + 1;
        else
          hi = mid;
      }
      for (std::size_t j = size_; j > lo; --j)
        at(j) = at(j - 1);
      at(lo) = r;
    }
    ++size_;
    newest_ = std::max(newest_, r.ts_ns);
    depth_ = std::max(depth_, size_);
    while (size_ > 0 && (size_ > max_ || at(0).ts_ns + window_ns_ <= newest_))
      pop(release);
  }

  template <class Release> void flush(Release&& release) {
    while (size_ > 0)
      pop(release);
  }

  std::uint64_t late() const { return late_; }           // released out of order
  std::uint64_t reordered() const { return reordered_; } // put back in order
  std::size_t max_depth() const { return depth_; }

private:
  // A fixed ring of max_ + 1 records: no allocation per record.
  TraceRecord& at(std::size_t i) {
    std::size_t k = head_ + i;
    if (k >= buf_.size())
      k -= buf_.size();
    return buf_[k];
  }

  template <class Release> void pop(Release& release) {
    TraceRecord& front = at(0);
    last_released_ = front.ts_ns;
    released_any_ = true;
    release(front);
    if (++head_ == buf_.size())
      head_ = 0;
    --size_;
  }

  std::uint64_t window_ns_;
  std::size_t max_;
  std::vector<TraceRecord> buf_;
  std::size_t head_ = 0, size_ = 0;
  std::uint64_t newest_ = 0;
  std::uint64_t last_released_ = 0;
  bool released_any_ = false;
  std::uint64_t late_ = 0;
  std::uint64_t reordered_ = 0;
  std::size_t depth_ = 0;
};

} // namespace harness::report
