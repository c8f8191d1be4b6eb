#include "harness/report/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace harness::report {
namespace {

constexpr unsigned kSubBits = 7; // 128 sub-buckets per power of two
constexpr std::uint64_t kSub = 1u << kSubBits;
constexpr std::size_t kBuckets = kSub + (64 - kSubBits) * kSub;

} // namespace

// The buckets (58 KiB) are made on the first sample: a report holds several histograms and most
// of a short run's stay empty.
Histogram::Histogram() = default;

std::size_t Histogram::bucket_of(std::uint64_t v) {
  if (v < kSub)
    return static_cast<std::size_t>(v);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v)); // >= kSubBits
  const std::uint64_t m = v >> (e - kSubBits);                         // [kSub, 2*kSub)
  return static_cast<std::size_t>(kSub + (e - kSubBits) * kSub + (m - kSub));
}

std::uint64_t Histogram::bucket_low(std::size_t b) {
  if (b < kSub)
    return b;
  const std::size_t e = (b - kSub) / kSub + kSubBits;
  const std::uint64_t m = (b - kSub) % kSub + kSub;
  return m << (e - kSubBits);
}

std::uint64_t Histogram::bucket_high(std::size_t b) {
  if (b < kSub)
    return b + 1;
  const std::size_t e = (b - kSub) / kSub + kSubBits;
  const std::uint64_t low = bucket_low(b);
  const std::uint64_t width = std::uint64_t{1} << (e - kSubBits);
  return low > UINT64_MAX - width ? UINT64_MAX : low + width;
}

void Histogram::add(std::uint64_t v) {
  if (buckets_.empty())
    buckets_.assign(kBuckets, 0);
  ++buckets_[bucket_of(v)];
  if (count_ == 0 || v < min_)
    min_ = v;
  max_ = std::max(max_, v);
  ++count_;
}

std::uint64_t Histogram::quantile(double q) const {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Nearest-rank: the smallest value with at least ceil(q * n) samples at or below it.
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      // Midpoint of the bucket, kept inside the observed range.
      const std::uint64_t lo = bucket_low(b), hi = bucket_high(b);
      const std::uint64_t mid = b < kSub ? lo : lo + (hi - lo) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

Percentiles Histogram::percentiles() const {
  Percentiles p;
  p.count = count_;
  if (count_ == 0)
    return p;
  p.min = min_;
  p.max = max_;
  p.p50 = quantile(0.50);
  p.p90 = quantile(0.90);
  p.p99 = quantile(0.99);
  return p;
}

} // namespace harness::report
