#pragma once

// The report of one run (or of saved outputs): what the text and JSON renderings show, and what
// a later run is compared with. `harness.report/1` is documented in docs/report-schema.md.

#include "base/result.hpp"
#include "harness/report/call_span.hpp"
#include "harness/report/expectations.hpp"
#include "harness/report/frame_timeline.hpp"
#include "harness/report/histogram.hpp"
#include "harness/report/loss.hpp"
#include "harness/report/trace_parser.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

inline constexpr std::string_view kReportSchema = "harness.report/1";

struct RunInfo {
  std::string kernel;  // release the probes were built for (READY record or plan)
  std::string plan_id; // READY record's plan id (or the plan file's)
  std::string probes;  // probe set
  std::string map;     // map identity (plan)
  std::string iface;
  int tpacket = 0;    // 1..3, 0 unknown
  std::string socket; // "raw" / "dgram"
  std::uint32_t ring_frames = 0, frame_size = 0, block_size = 0, frames_per_block = 0;
  std::uint32_t rings = 1;
  std::uint32_t sender_pid = 0;
  std::uint32_t run_id = 0;
  std::string run_dir; // where `run` put its files (empty offline)
};

// A program of the user's own run as the workload (`harness run --exec`) instead of the built-in
// sender (docs/report-schema.md "workload").
struct WorkloadInfo {
  std::vector<std::string> argv; // as run, `{iface}` replaced
  std::uint32_t pid = 0;         // its process (tgid): the probes' records are filtered to it
  std::string iface, netns;
  bool exited = false;   // it ended before the run did
  int exit_code = -1;    // when it exited normally
  int signal = 0;        // the signal that ended it, 0: none
  bool stopped = false;  // harness stopped it (interrupt, --duration)
  bool attached = false; // --pid: not harness's child (its exit status cannot be known)
  std::string stdout_file, stderr_file;
  std::vector<std::string> stdout_tail, stderr_tail; // their last lines
  bool success() const { return attached || (exited && signal == 0 && exit_code == 0); }
};

struct TraceInfo {
  std::uint64_t lines = 0, records = 0, events = 0, other_lines = 0, malformed = 0;
  std::uint64_t truncated_tail = 0;
  std::uint64_t reordered = 0, late = 0; // put back in order / too late to reorder
  bool ready = false, end = false;
  std::uint64_t ready_ts = 0, end_ts = 0;
  std::uint64_t first_event_ts = 0, last_event_ts = 0;
  std::vector<BadLine> malformed_samples;
  std::uint64_t unreadable_events = 0, unmapped_uses = 0, mapping_conflicts = 0;
  std::uint64_t by_call_frame = 0; // records without ph given to their call's current frame
  std::uint64_t foreign_sockets = 0, foreign_uses = 0;
  // Status stores checked against the TX ring protocol, and not checked (records lost).
  std::uint64_t protocol_checked = 0, protocol_unjudged = 0;
};

struct ProbeRow {
  std::string anchor;
  std::string function;  // from the plan
  int line = 0;          // from the plan, 0 unknown
  std::string statement; // from the plan
  bool planned = false;  // in the plan (or listed in the END summary)
  Expect expect = Expect::conditional;
  std::string when;
  std::uint64_t events = 0;          // EV records in the trace
  std::optional<std::uint64_t> hits; // from the END summary
  std::uint64_t unreadable = 0;      // records missing a field the correlator needs
  std::uint64_t fired() const { return std::max(events, hits.value_or(0)); }
};

struct PhaseRow {
  Phase phase = Phase::request_seen;
  bool expected = false;     // a planned probe records it
  bool observed = false;     // at least one frame showed it
  std::uint64_t frames = 0;  // frames that showed it
  std::uint64_t missing = 0; // frames the kernel handled that did not show it
};

// One record or frame an anomaly rests on (docs/report-schema.md, `anomalies[].evidence`).
struct Evidence {
  std::string anchor;               // the record's anchor ("" when it is a frame only)
  std::uint64_t trace_line = 0;     // line of the record in the trace file (1-based), 0: none
  std::uint32_t tid = 0;            // task of the record, 0: not applicable
  std::optional<std::uint64_t> seq; // the sender's frame, when it concerns one
  std::int64_t index = -1;          // ring index, -1: not applicable
  std::string detail;               // e.g. "noblock=0", "state=1"
};

struct Anomaly {
  std::string kind; // stable identifiers, listed in docs/report-schema.md (JSON `id`)
  std::string message;
  std::uint64_t count = 1;           // occurrences (frames, calls, ...)
  std::vector<std::uint64_t> seqs;   // sample frames (sender seq) it concerns
  std::vector<std::int64_t> indices; // sample ring indices (kernel frames without a seq)
  std::string anchor;
  int line = 0;
  std::vector<Evidence> evidence; // the first few records/frames it rests on
  // When the tracer lost records: why this finding is not an artefact of that (empty otherwise).
  std::string not_from_loss;
};

// What the tracer lost (loss.hpp) and what the report could therefore not judge
// (docs/report-schema.md "loss").
struct LossInfo {
  bool any = false;                              // the tracer reported lost records
  std::uint64_t records = 0;                     // lost, where the tracer gave a count
  bool uncounted = false;                        // some loss came without a count
  std::map<std::string, std::uint64_t> by_cause; // LostCause names -> records
  std::uint64_t windows = 0;                     // disjoint time windows
  std::uint64_t covered_ns = 0;                  // their length within the trace
  std::vector<LossWindow> first_windows;         // the first few
  std::uint64_t frames_unobserved = 0;           // frames whose story the loss cut
  std::uint64_t frames_observed = 0;             // every other frame
  std::uint64_t calls_unjudged = 0;              // findings not made: their records may be lost
  // Share of frames fully observed, 0..1 (1 without frames).
  double observed_share() const {
    const std::uint64_t n = frames_unobserved + frames_observed;
    return n ? static_cast<double>(frames_observed) / static_cast<double>(n) : 1.0;
  }
};

struct Summary {
  std::uint64_t requested = 0, queued = 0, sent = 0; // the sender's totals
  std::uint64_t frames = 0; // frame timelines (sender frames + kernel-only uses)
  std::uint64_t completed = 0, stuck = 0, not_seen = 0, unmatched = 0, wrong_format = 0,
                discarded = 0, unobserved = 0;
  Percentiles latency;     // sender SEND_REQUEST -> kernel AVAILABLE (or destructor)
  Percentiles kernel_hold; // kernel SENDING -> AVAILABLE (or destructor)
  Percentiles pickup;      // sender SEND_REQUEST -> kernel saw it
  std::uint64_t snd_calls = 0, waits = 0, wait_continues = 0, else_breaks = 0;
  std::uint64_t waits_dontwait = 0, blocked_calls = 0;
  std::uint64_t alloc_failed = 0, xmit_errors = 0;
  std::map<std::int64_t, std::uint64_t> errors; // tpacket_snd's negative returns
  std::uint64_t bytes_returned = 0;
  std::optional<std::uint64_t> max_pending;
};

struct Regression {
  std::string what; // e.g. "phase sending", "latency p99", "probe snd.len_sum"
  std::string baseline, current;
  std::string message;
};

struct Comparison {
  std::string baseline_file;
  double tolerance = 0.25;
  std::vector<Regression> regressions;
  std::vector<std::string> notes; // changes that are not regressions
  // How the two runs' scenarios differ (frames, ring, TPACKET version, probes, the phases the
  // probes can observe): a change may then come from the scenario, not from the kernel.
  std::vector<std::string> not_comparable;
};

struct Report {
  std::string schema = std::string(kReportSchema);
  std::string harness_version;
  bool partial = false;
  std::string partial_reason;
  RunInfo run;
  TraceInfo trace;
  std::vector<ProbeRow> probes;
  std::array<PhaseRow, kPhaseCount> phases{};
  Summary summary;
  std::vector<FrameTimeline> frames; // the first rows, sorted by seq (see frames_total)
  std::uint64_t frames_total = 0;
  std::vector<Anomaly> anomalies;
  LossInfo loss;
  std::vector<std::string> notes;
  std::optional<Comparison> comparison;
  std::optional<WorkloadInfo> workload; // `run --exec` only
  // The HTML's tpacket_snd lane; not in the JSON report (its counts are in `summary`).
  std::vector<CallSpan> calls;

  // 1: an anomaly or a regression; else 15 (Exit::incomplete) when the tracer lost records, so
  // that what it did not see was not judged; else 0: every frame accounted for.
  int exit_code() const {
    if (!anomalies.empty() || (comparison && !comparison->regressions.empty()))
      return static_cast<int>(Exit::anomaly);
    return loss.any ? static_cast<int>(Exit::incomplete) : static_cast<int>(Exit::ok);
  }
  std::string_view verdict() const; // "ok", "anomalies", "regression", "incomplete"
};

// Renders the terminal report: run line, frame table (at most `max_rows` rows), summary,
// probes, anomalies, notes.
std::string format_report_text(const Report& r, std::size_t max_rows = 64);

} // namespace harness::report
