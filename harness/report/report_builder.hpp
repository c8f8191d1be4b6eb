#pragma once

// Folds frame timelines into a Report in constant memory (a bounded number of table rows and
// samples, histograms for the percentiles), then adds what only the whole trace can tell:
// which phases and probes were seen at all, and the anomalies.

#include "harness/report/correlator.hpp"
#include "harness/report/report.hpp"
#include "probes/probe_plan.hpp"
#include "sender/send_record.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace harness::report {

struct BuildInputs {
  const ParseStats* parse = nullptr;
  const AnchorIds* anchors = nullptr;
  const KernelStats* kernel = nullptr;
  const LossMap* losses = nullptr; // what the tracer lost; null: nothing
  std::uint64_t reordered = 0, late = 0;
  const probes::ProbePlan* plan = nullptr;      // optional
  const sender::SenderRecord* sender = nullptr; // optional (its frames are not read here)
  std::uint64_t sender_frame_records = 0;       // per-frame records the sender kept
  int tpacket = 0; // --tpacket: used when neither the sender report nor the trace say it
  bool partial = false;
  std::string partial_reason;
  std::string harness_version;
};

class ReportBuilder {
public:
  static constexpr std::size_t kSamples = 10;

  explicit ReportBuilder(std::size_t max_rows) : max_rows_(max_rows) {}
  void add(const FrameTimeline& tl);
  Report finish(const BuildInputs& in);

  // One frame's protocol finding, kept for its evidence.
  struct ProtocolSample {
    ProtocolFinding finding;
    std::uint64_t addr = 0;
    std::optional<std::uint64_t> seq;
    std::int64_t index = -1;
  };

private:
  struct Bucket {
    std::uint64_t count = 0;
    std::vector<std::uint64_t> seqs;
    std::vector<std::int64_t> indices;
    std::vector<Evidence> evidence; // the first kSamples frames with the record that shows it
    void note(const FrameTimeline& tl);
  };

  // The steps of finish(), in order (the run, trace and probe sections need no builder state).
  void fill_phases(Report& r, const BuildInputs& in) const;
  std::uint64_t settle_frames(Report& r);
  void fill_summary(Report& r, const BuildInputs& in, const KernelStats& ks,
                    std::uint64_t stuck_count) const;
  void note_clock_skew(const FrameTimeline& tl);
  void note_times(const FrameTimeline& tl);
  bool sent_something(const BuildInputs& in, const KernelStats& ks) const;
  void add_anomalies(Report& r, const BuildInputs& in, const KernelStats& ks,
                     std::uint64_t stuck_count, bool sent_something) const;
  void add_untaken_frames(Report& r, const BuildInputs& in, const KernelStats& ks) const;
  void add_frame_anomalies(Report& r, const BuildInputs& in, std::uint64_t stuck_count) const;
  void note_protocol(const FrameTimeline& tl);
  void add_protocol_anomalies(Report& r, const BuildInputs& in, const KernelStats& ks) const;
  void add_notes(Report& r, const BuildInputs& in, const ParseStats& ps, const KernelStats& ks,
                 bool sent_something) const;
  std::uint64_t settle_lossy_frames(Report& r);
  void fill_loss(Report& r, const BuildInputs& in, const KernelStats& ks) const;

  std::size_t max_rows_;
  std::vector<FrameTimeline> rows_;
  std::uint64_t total_ = 0;
  std::array<std::uint64_t, kOutcomes> outcomes_{};
  Bucket stuck_, not_restored_, not_seen_, unmatched_, wrong_format_, discarded_, xmit_err_,
      unobserved_;
  // Protocol findings by breach, place and transition (report_builder_protocol.cpp).
  struct ProtocolGroup {
    Bucket frames;
    std::vector<ProtocolSample> samples;
  };
  std::map<std::uint64_t, ProtocolGroup> protocol_;
  // Frames whose first kernel record is earlier than the sender's start of filling them: the
  // kernel cannot see a frame before it exists, so the two clocks disagree (by up to skew_ns_).
  Bucket clock_skew_;
  std::uint64_t skew_ns_ = 0;
  // Completed frames the tracer lost records around, by the phases they lack (a bit each):
  // unobserved when one of those phases was observable (known only at the end).
  std::array<Bucket, (1u << kPhaseCount)> lossy_completed_;
  std::uint64_t lossy_moved_ = 0;
  // Kernel uses inside loss windows that no sender record accounts for: what is left of frames
  // the sender counts already (the records that would place them were lost), not frames.
  std::uint64_t loss_fragments_ = 0;
  std::array<Bucket, kPhaseCount> missing_;       // kernel-handled frames lacking the phase
  std::array<std::uint64_t, kPhaseCount> with_{}; // frames showing the phase
  Histogram latency_, latency_destruct_, hold_, hold_destruct_, pickup_;
  std::uint64_t not_seen_but_sent_ = 0; // not seen by the probes, but the sender says done
};

} // namespace harness::report
