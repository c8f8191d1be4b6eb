#pragma once

// What the tracer lost, and when (docs/DESIGN.md "Lost records"). A tracer that falls behind
// drops records: the kprobe tracer's ring buffer overwrites them, stap's transport refuses them.
// Each tracer says so in its own record stream (LOST records; stap also numbers its records, so
// a gap in `sq` shows where some went). The correlator must never read an absence that loss
// explains as a kernel bug, so it learns every window in which records may be missing before it
// reads the first record: a first pass over the trace (LossScan) finds them all.

#include "harness/report/trace_parser.hpp"
#include "harness/report/trace_record.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace harness::report {

// A time span (CLOCK_REALTIME ns, both ends included) in which records may be missing.
struct LossWindow {
  std::uint64_t from_ns = 0;
  std::uint64_t to_ns = UINT64_MAX;
  friend bool operator==(const LossWindow&, const LossWindow&) = default;
};

// The union of the windows, as sorted disjoint spans, with what the tracer said it lost.
class LossMap {
public:
  // The tracer's and the sender's timestamps come from two clock reads (the kprobe tracer moves
  // CLOCK_MONOTONIC onto CLOCK_REALTIME by one offset): a span is widened by this much.
  static constexpr std::uint64_t kMarginNs = 1'000'000;
  // More disjoint windows than this are merged with their neighbours (wider, never fewer lost).
  static constexpr std::size_t kMaxWindows = 1 << 16;

  void add(const LossWindow& w, std::optional<std::uint64_t> count, LostCause cause);
  // Opens the windows that reach the start or the end of the trace onto its bounds (for the
  // covered time only; overlaps() treats them as open).
  void set_trace_bounds(std::uint64_t first_ns, std::uint64_t last_ns);

  bool any() const { return !windows_.empty(); }
  // Whether records from [from_ns, to_ns] (widened by kMarginNs) may be missing: for a span that
  // starts or ends at a sender's timestamp.
  bool overlaps(std::uint64_t from_ns, std::uint64_t to_ns) const;
  // Whether records may be missing strictly between two records the tracer delivered (one
  // clock, no margin): a window's ends are records it delivered.
  bool between(std::uint64_t first_ns, std::uint64_t second_ns) const;

  const std::vector<LossWindow>& windows() const;    // sorted, disjoint
  std::uint64_t records() const { return records_; } // lost, where a count was given
  bool uncounted() const { return uncounted_; }      // some loss came without a count
  std::uint64_t by_cause(LostCause c) const { return by_cause_[static_cast<std::size_t>(c)]; }
  std::uint64_t reports() const { return reports_; } // add() calls
  std::uint64_t covered_ns() const;                  // bounded by the trace

private:
  void normalize() const;

  // As added until read; then sorted by from_ns and disjoint (normalize, on the first read).
  mutable std::vector<LossWindow> windows_;
  mutable bool sorted_ = true;
  mutable std::size_t merged_ = 0; // windows_.size() when it was last normalized
  std::array<std::uint64_t, kLostCauses> by_cause_{};
  std::uint64_t records_ = 0, reports_ = 0;
  bool uncounted_ = false;
  std::uint64_t first_ns_ = 0, last_ns_ = 0;
};

// Gaps in the `sq` numbering of one tracer run (probes/trace_format.hpp record_key::seq). Records
// arrive nearly in order (stap writes each CPU's buffer on its own), so a number seen late fills
// the hole it belongs to; what stays open at the end was lost. Holes are placed in time by the
// records on either side: `sq` and the timestamps are taken under the same script lock
// (stap/generate.cpp), so their orders agree.
class SeqGaps {
public:
  static constexpr std::size_t kMaxHoles = 1 << 16;

  void start(std::uint64_t ready_ns); // a new run (READY): numbering starts again at 1
  void feed(std::uint64_t seq, std::uint64_t ts_ns);
  // `total`: the run's last number when known (the sum of its HITS), for a loss at the end.
  void finish(std::optional<std::uint64_t> total, std::uint64_t end_ns, LossMap& out);
  bool numbered() const { return next_ > 1 || !holes_.empty(); }
  std::uint64_t duplicates() const { return duplicates_; }

private:
  struct Hole {
    std::uint64_t last = 0; // the hole is [key, last]
    std::uint64_t before_ns = 0, after_ns = UINT64_MAX;
  };
  std::map<std::uint64_t, Hole> holes_;
  std::uint64_t next_ = 1;   // the number after the highest seen
  std::uint64_t top_ns_ = 0; // the timestamp of the highest seen (or READY)
  std::uint64_t duplicates_ = 0;
  bool overflow_ = false; // too many holes: the rest is lost without a place
};

// The first pass: every record of a trace, in file order. Collects the LOST records, the `sq`
// gaps and, per anchor, HITS above the records delivered that neither accounts for.
class LossScan {
public:
  void feed(const TraceRecord& r);
  LossMap finish(const ParseStats& ps);

private:
  LossMap map_;
  SeqGaps gaps_;
  std::uint64_t end_ns_ = UINT64_MAX;
  std::uint64_t ready_ns_ = 0;
  std::uint64_t first_ns_ = 0, last_ns_ = 0;
};

} // namespace harness::report
