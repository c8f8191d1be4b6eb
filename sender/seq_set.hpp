#pragma once

#include <cstdint>
#include <vector>

namespace harness::sender {

// A set of sequence numbers kept as sorted, disjoint half-open ranges. Frames are queued and
// arrive in order almost always, so inserting the next number extends the last range in O(1)
// and memory stays proportional to the number of holes, not to the frame count.
class SeqSet {
public:
  struct Range {
    std::uint64_t lo, hi; // [lo, hi)
    bool operator==(const Range&) const = default;
  };

  // Returns false when `seq` was already present.
  bool insert(std::uint64_t seq);
  void insert_range(std::uint64_t lo, std::uint64_t hi);
  void erase(std::uint64_t seq);
  bool contains(std::uint64_t seq) const;
  std::uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::vector<Range>& ranges() const { return ranges_; }

  // |this \ other| and the smallest element of it (when not empty).
  std::uint64_t count_not_in(const SeqSet& other, std::uint64_t* first = nullptr) const;

private:
  std::vector<Range> ranges_;
  std::uint64_t size_ = 0;
};

} // namespace harness::sender
