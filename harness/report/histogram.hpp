#pragma once

// Latency percentiles in constant memory: a log-linear histogram (128 sub-buckets per power of
// two, under 1% relative error), exact below 128 ns, exact minimum and maximum. The buckets are
// made on the first sample.

#include <cstdint>
#include <vector>

namespace harness::report {

struct Percentiles {
  std::uint64_t count = 0;
  std::uint64_t min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0; // ns
};

class Histogram {
public:
  Histogram();
  void add(std::uint64_t v);
  std::uint64_t count() const { return count_; }
  // The value below which `q` (0..1) of the samples lie, within the bucket precision.
  std::uint64_t quantile(double q) const;
  Percentiles percentiles() const;

  static std::size_t bucket_of(std::uint64_t v);
  static std::uint64_t bucket_low(std::size_t b);
  static std::uint64_t bucket_high(std::size_t b); // exclusive

private:
  std::vector<std::uint64_t> buckets_; // empty until the first sample
  std::uint64_t count_ = 0, min_ = 0, max_ = 0;
};

} // namespace harness::report
