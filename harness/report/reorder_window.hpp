#pragma once

// Puts EV records back in timestamp order. stap writes each CPU's records through its own
// buffer, so lines from several CPUs arrive interleaved and slightly out of order. Records are
// held until a later record is `window_ns` newer (or the window holds `max_records`), then
// released oldest first. Memory is bounded by `max_records`, whatever the trace length. A record
// older than one already released is released at once and counted as late.

#include "harness/report/trace_record.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace harness::report {

class ReorderWindow {
public:
  ReorderWindow(std::uint64_t window_ns, std::size_t max_records)
      : window_ns_(window_ns), max_(max_records ? max_records : 1) {}

  template <class Release> void push(const TraceRecord& r, Release&& release) {
    if (released_any_ && r.ts_ns < last_released_) {
      ++late_;
      release(r);
      return;
    }
    // While records are held, the newest of them is the newest pushed (release is oldest first).
    if (!held_.empty() && r.ts_ns < newest_)
      ++reordered_;
    held_.push_back(Held{r, seq_++});
    std::push_heap(held_.begin(), held_.end(), later);
    newest_ = std::max(newest_, r.ts_ns);
    depth_ = std::max(depth_, held_.size());
    while (!held_.empty() &&
           (held_.size() > max_ || held_.front().record.ts_ns + window_ns_ <= newest_))
      pop(release);
  }

  template <class Release> void flush(Release&& release) {
    while (!held_.empty())
      pop(release);
  }

  std::uint64_t late() const { return late_; }           // released out of order
  std::uint64_t reordered() const { return reordered_; } // put back in order
  std::size_t max_depth() const { return depth_; }

private:
  // A min-heap on (timestamp, arrival): O(log n) per record whatever the disorder (an insertion
  // into a sorted ring moved up to max_records records per reversed record, quadratic on a
  // trace in descending order), and equal timestamps keep their arrival order. It grows with
  // the records held, up to max_ + 1, instead of allocating max_ + 1 records up front.
  struct Held {
    TraceRecord record;
    std::uint64_t seq = 0;
  };
  static bool later(const Held& a, const Held& b) {
    return a.record.ts_ns != b.record.ts_ns ? a.record.ts_ns > b.record.ts_ns : a.seq > b.seq;
  }

  template <class Release> void pop(Release& release) {
    std::pop_heap(held_.begin(), held_.end(), later);
    last_released_ = held_.back().record.ts_ns;
    released_any_ = true;
    release(held_.back().record);
    held_.pop_back();
  }

  std::uint64_t window_ns_;
  std::size_t max_;
  std::vector<Held> held_;
  std::uint64_t seq_ = 0;
  std::uint64_t newest_ = 0;
  std::uint64_t last_released_ = 0;
  bool released_any_ = false;
  std::uint64_t late_ = 0;
  std::uint64_t reordered_ = 0;
  std::size_t depth_ = 0;
};

} // namespace harness::report
