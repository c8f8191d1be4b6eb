#include "sender/seq_set.hpp"

#include <algorithm>

namespace harness::sender {

bool SeqSet::insert(std::uint64_t seq) {
  if (!ranges_.empty() && ranges_.back().hi == seq) { // the common case: next in order
    ++ranges_.back().hi;
    ++size_;
    return true;
  }
  if (contains(seq))
    return false;
  insert_range(seq, seq + 1);
  return true;
}

void SeqSet::insert_range(std::uint64_t lo, std::uint64_t hi) {
  if (lo >= hi)
    return;
  // First range whose end reaches lo (it may touch or overlap the new one).
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), lo,
                             [](const Range& r, std::uint64_t v) { return r.hi < v; });
  auto last = it;
  while (last != ranges_.end() && last->lo <= hi) {
    lo = std::min(lo, last->lo);
    hi = std::max(hi, last->hi);
    size_ -= last->hi - last->lo;
    ++last;
  }
  it = ranges_.erase(it, last);
  ranges_.insert(it, Range{lo, hi});
  size_ += hi - lo;
}

void SeqSet::erase(std::uint64_t seq) {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                             [](std::uint64_t v, const Range& r) { return v < r.lo; });
  if (it == ranges_.begin() || std::prev(it)->hi <= seq)
    return;
  --it;
  --size_;
  const Range r = *it;
  if (r.hi - r.lo == 1) {
    ranges_.erase(it);
  } else if (seq == r.lo) {
    ++it->lo;
  } else if (seq + 1 == r.hi) {
    --it->hi;
  } else {
    it->hi = seq;
    ranges_.insert(std::next(it), Range{seq + 1, r.hi});
  }
}

bool SeqSet::contains(std::uint64_t seq) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                             [](std::uint64_t v, const Range& r) { return v < r.lo; });
  return it != ranges_.begin() && std::prev(it)->hi > seq;
}

std::uint64_t SeqSet::count_not_in(const SeqSet& other, std::uint64_t* first) const {
  std::uint64_t n = 0;
  bool have_first = false;
  auto o = other.ranges_.begin();
  for (const auto& r : ranges_) {
    std::uint64_t at = r.lo;
    while (at < r.hi) {
      while (o != other.ranges_.end() && o->hi <= at)
        ++o;
      const std::uint64_t stop =
          (o == other.ranges_.end() || o->lo >= r.hi) ? r.hi : std::max(o->lo, at);
      if (stop > at) {
        n += stop - at;
        if (!have_first && first) {
          *first = at;
          have_first = true;
        }
        at = stop;
      }
      if (o != other.ranges_.end() && o->lo <= at)
        at = std::min(r.hi, o->hi);
    }
  }
  return n;
}

} // namespace harness::sender
