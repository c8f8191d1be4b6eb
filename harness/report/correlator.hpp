#pragma once

// Turns probe records (in timestamp order) into per-frame timelines and joins them with the
// sender's records. Pure: no I/O; memory bounded by the number of ring slots and threads, not by
// the trace length (each frame is handed to the sink as soon as its use of the slot is over).
//
// Address -> ring index: snd.ph_check prints the frame the kernel took (ph) with tx_ring.head
// (its index); snd.len_sum prints ph with the head already advanced. Without either (an
// optimised kernel where those lines cannot be probed) the index is inferred from the ring
// order: tpacket_snd takes frames in order starting at the head (snd.start's head, or 0 for a
// fresh ring).

#include "harness/report/call_span.hpp"
#include "harness/report/frame_timeline.hpp"
#include "harness/report/histogram.hpp"
#include "harness/report/loss.hpp"
#include "harness/report/sender_source.hpp"
#include "harness/report/trace_record.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace harness::report {

struct CorrelatorOptions {
  // Sockets used by this process (tgid) are the sender's: the built-in sender's, or the
  // `run --exec` workload's; 0: all are.
  std::uint32_t sender_pid = 0;
  std::uint32_t ring_frames = 0; // the sender's ring size, when snd.start lacks frame_max
  // Where the tracer lost records (the first pass over the trace); null: it lost none. A frame
  // or a finding whose records may have been lost is never read as a kernel fault.
  const LossMap* losses = nullptr;
};

// What one tpacket_snd call did wrong, seen in its own records (docs/report-schema.md,
// "anomalies"). Each is counted once per call.
enum class CallFault : std::uint8_t {
  blocking_alloc, // MSG_DONTWAIT, yet alloc.enter with noblock=0 (the 3.13 bug)
  slept,          // MSG_DONTWAIT, yet sched.sleep in an interruptible state: a socket wait
  spin,           // ph_check found no frame twice with no wait and no sleep in between
  pending_leak,   // timed out waiting while `pending` > 0 with every taken frame destructed
  timeo_rearmed,  // a wait began with more time (timeo) than the previous wait had left
  count_
};
inline constexpr std::size_t kCallFaults = static_cast<std::size_t>(CallFault::count_);
// A finding in a few words, for the HTML's tpacket_snd lane.
std::string_view call_fault_text(CallFault f);

struct CallFinding {
  CallFault fault = CallFault::blocking_alloc;
  std::uint32_t tid = 0;
  std::uint64_t ts_ns = 0;        // the record that proved it
  std::uint64_t call_line = 0;    // trace line of the call's snd.start (0: not seen)
  std::uint64_t line = 0;         // trace line of the record that proved it
  std::uint64_t earlier_line = 0; // spin: the first ph_check without a frame
  std::uint64_t value = 0;        // noblock, state, the spin's empty ph_checks, the leak's pending,
                                  // the re-armed wait's timeo
  std::uint64_t left = 0;         // timeo_rearmed: what the previous wait had left
};

// Facts about tpacket_snd calls that are not faults by themselves.
struct CallNotes {
  std::uint64_t lock_sleeps = 0; // uninterruptible sleeps in MSG_DONTWAIT calls
  std::uint64_t first_lock_sleep_line = 0;
  std::uint64_t unjudged_sleeps = 0;     // sleeps in calls whose flags were unreadable
  std::uint64_t alloc_unreadable = 0;    // alloc.enter records without a readable noblock
  std::uint64_t sleeps_blocking = 0;     // sleeps in calls without MSG_DONTWAIT (legitimate)
  std::uint64_t unclosed_candidates = 0; // findings dropped: their call never showed snd.return
  // Findings not made because the records between the call's start (or the socket's, for the
  // pending count) and the record that would prove them may have been lost, per fault.
  std::array<std::uint64_t, kCallFaults> unjudged_loss{};
};

struct KernelGeometry {
  std::uint64_t frame_max = 0, frame_size = 0, frames_per_block = 0;
  std::optional<std::uint64_t> version; // tp_version: 0 = V1, 1 = V2, 2 = V3
};

struct KernelStats {
  std::uint64_t events = 0; // EV records seen
  std::uint64_t first_ts = 0, last_ts = 0;
  std::uint64_t sockets = 0;         // sockets of the sender
  std::uint64_t foreign_sockets = 0; // other processes' TX rings (ignored)
  std::uint64_t foreign_uses = 0;
  std::uint64_t snd_calls = 0, snd_returns = 0;
  std::uint64_t waits = 0, wait_continues = 0, else_breaks = 0;
  std::uint64_t waits_dontwait = 0; // waits in calls with MSG_DONTWAIT
  std::uint64_t alloc_failed = 0, xmit_errors = 0, already_destructed = 0, not_destructed = 0;
  std::map<std::int64_t, std::uint64_t> returned_errors; // tpacket_snd's negative returns
  std::uint64_t bytes_returned = 0;                      // sum of its positive returns
  std::optional<std::uint64_t> max_pending;
  std::array<std::uint64_t, kCallFaults> faulty_calls{}; // calls with each fault
  std::uint64_t blocked_calls = 0;   // MSG_DONTWAIT calls with blocking_alloc or slept
  std::vector<CallFinding> findings; // the first few of each fault
  CallNotes call_notes;
  Histogram call_ns; // tpacket_snd call durations (snd.start -> snd.return)
  std::uint64_t slowest_call_ns = 0, slowest_call_line = 0;
  std::vector<CallSpan> call_spans;    // the first kMaxCallSpans calls, for the HTML timeline
  std::uint64_t mapping_conflicts = 0; // ph_check disagreed with an inferred index
  std::uint64_t unmapped_uses = 0;     // uses whose ring index stayed unknown
  std::uint64_t unreadable_events = 0; // events lacking a field they need (`?` or absent)
  // tpacket_snd records without `ph` given to the frame their call was on (its last ph_check)
  std::uint64_t by_call_frame = 0;
  std::vector<std::uint64_t> unreadable_by_anchor;     // by AnchorId
  std::array<std::uint64_t, kPhaseCount> phase_uses{}; // uses in which each phase was seen
  std::optional<KernelGeometry> geometry;              // from the sender's socket's snd.start
  // Status stores not checked against the protocol: records of their slot may have been lost.
  std::uint64_t protocol_unjudged = 0;
  std::uint64_t protocol_checked = 0; // stores (and user stores seen by reads) checked
};

class Correlator {
public:
  using Sink = std::function<void(const FrameTimeline&)>;
  static constexpr std::size_t kMaxFindingSamples = 10; // per fault

  // `sender` may be null (kernel view only); it must outlive the correlator.
  Correlator(CorrelatorOptions options, SenderSource* sender, Sink sink);

  void on_event(const TraceRecord& r); // EV records, in timestamp order
  // Hands out every use still held (open ones as stuck) and every sender frame the kernel never
  // took (not_seen). Call once, at the end.
  void finish();
  const KernelStats& stats() const { return stats_; }

private:
  struct Use {
    FrameTimeline tl;
    bool open = false;              // a use in progress
    bool closed = false;            // AVAILABLE seen; late xmit/destructor records may still follow
    bool pid_match = false;         // a record in the sender's process context touched it
    std::uint32_t bits = 0;         // anchors (KnownAnchor) that contributed to this use
    std::uint64_t opener = 0;       // po key of the socket whose records opened it
    std::uint32_t request_bit = 0;  // the anchor that saw SEND_REQUEST first
    std::uint64_t request_mark = 0; // the socket's `requests` at this use's last SEND_REQUEST
    std::uint64_t blind_mark = 0;   // `blind_destructs_` then
    // The record read right after this use's last destructor record: the destructor's own
    // AVAILABLE store comes before it, so only a loss up to then can hide that store.
    std::uint64_t after_destruct_ts = 0;
    std::uint64_t last_ts = 0; // its latest record
  };
  // Frame addresses are unique in the kernel, so slots are kept by address alone: records of
  // one frame where `po` was readable and records where it was optimised out meet here.
  struct Slot {
    std::int64_t index = -1;
    MapSource src = MapSource::none;
    std::uint64_t po = 0;          // first readable packet_sock seen with this frame
    std::uint64_t prev_end_ts = 0; // the last record of the slot's previous use (0: none)
    Use use;
    SlotProtocol proto;         // its statuses against the TX ring's protocol
    std::uint64_t proto_ts = 0; // the last record that told them (0: none)
  };
  struct Socket {
    std::uint64_t po = 0; // 0: records whose po was unreadable
    bool ours = false;
    bool in_process = false; // had records other than the destructor's
    bool ring_known = false;
    std::uint32_t ring = 0;
    std::uint64_t ring_frames = 0; // tx_ring.frame_max + 1
    std::int64_t expected_head = -1;
    std::uint64_t head_ts = 0;  // the last record that told the ring position (head, ph + index)
    std::uint64_t first_ts = 0; // its first record
    std::uint64_t taken = 0;    // SENDING stores recorded (each followed by packet_inc_pending)
    std::uint64_t released = 0; // destruct.pending_dec records (each before its decrement)
    std::uint64_t requests = 0; // SEND_REQUEST sightings of its frames, all slots
  };
  struct Call {
    std::uint64_t start_ts = 0;
    std::uint64_t start_line = 0;
    std::uint64_t flags = 0;
    bool has_start = false;
    bool flags_known = false;
    std::uint64_t po = 0;
    std::uint32_t faults = 0;     // bit per CallFault already counted
    std::uint64_t empty_line = 0; // last ph_check without a frame since a wait or sleep
    std::uint64_t empty_ts = 0;
    std::uint64_t empty_since_wait = 0; // ph_checks without a frame since then
    // The frame the call's loop is on: its last ph_check's (0: none), and when it was found.
    std::uint64_t frame = 0;
    std::uint64_t frame_ts = 0;
    // alloc.enter / sched.sleep findings wait for the call's snd.return: only a call seen to
    // end is known to have held them (a kernel without the return probe never closes a call).
    std::vector<std::pair<CallFault, TraceRecord>> candidates;
    std::uint64_t wait_line = 0;    // the last snd.wait that saw pending > 0 with every
    std::uint64_t wait_pending = 0; // frame taken so far already destructed (0: none)
    // timeo after the last wait (snd.wait_continue): the next wait must start with no more.
    std::optional<std::uint64_t> timeo_left;
    std::uint64_t timeo_line = 0, timeo_ts = 0;
    std::optional<std::size_t> span; // its entry in stats_.call_spans, when within the cap
  };
  CallSpan* span_of(const TraceRecord& r);
  Socket& socket_for(const TraceRecord& r);
  void mark_ours(Socket& s, const TraceRecord& r);
  void map_index(Socket& s, std::uint64_t addr, std::int64_t index, MapSource src);
  void phase(Socket& s, std::uint64_t addr, Phase p, const TraceRecord& r);
  // SEND_REQUEST seen for a slot whose use is open: the same frame found again (its send failed,
  // or a second probe of the same sighting), put back by a status store while the kernel held
  // it, or the slot's next frame.
  enum class RequestAgain { same_frame, put_back, next_frame };
  RequestAgain request_again(const Socket& s, const Use& u, const TraceRecord& r) const;
  void set_status(Socket& s, std::uint64_t addr, std::uint32_t status, const TraceRecord& r);
  void restore(Use& u);
  Slot& slot_for(std::uint64_t addr, const TraceRecord& r);
  void open_use(Socket& s, Slot& slot, std::uint64_t addr);
  void emit(Slot& slot, bool at_end);
  void join(Socket& s, FrameTimeline& tl, bool near_loss);
  void unreadable(const TraceRecord& r);
  // One record of frame `addr` for the protocol check (correlator_protocol.cpp).
  void protocol_event(StatusEventKind kind, std::uint64_t addr, std::uint64_t status,
                      const TraceRecord& r);
  // A finding in call `c`, shown by `r` and the records from `since_ns` up to `r` (the record
  // read now, or a candidate judged at the call's snd.return).
  void fault(Call& c, CallFault f, const TraceRecord& r, std::uint64_t since_ns,
             std::uint64_t value, std::uint64_t earlier_line = 0, std::uint64_t left = 0);
  // Records may be missing: in a span that starts or ends at a sender's time (lossy), strictly
  // between two records (lost_between).
  bool lossy(std::uint64_t from_ns, std::uint64_t to_ns) const;
  bool lost_between(std::uint64_t first_ns, std::uint64_t second_ns) const;
  void kernel_event(const TraceRecord& r);
  void drop_candidates(const Call& c);
  std::uint64_t ring_size(const Socket& s) const;
  // The steps of on_event: what every record tells, then one handler per anchor (r.anchor).
  void note_record(const TraceRecord& r);
  void start_call(const TraceRecord& r);
  void on_snd_start(Socket& s, const TraceRecord& r);
  void on_ph_check(Socket& s, const TraceRecord& r, std::uint64_t ph);
  void on_wait(Socket& s, const TraceRecord& r);
  void on_wait_continue(const TraceRecord& r);
  void on_set_sending(Socket& s, const TraceRecord& r, std::uint64_t ph);
  void on_after_xmit(Socket& s, const TraceRecord& r, std::uint64_t ph);
  void on_len_sum(Socket& s, const TraceRecord& r, std::uint64_t ph);
  // The frame a tpacket_snd record without `ph` is about: its thread's call's current frame,
  // unless records may have been lost since that frame was found (0: none).
  std::uint64_t call_frame(const TraceRecord& r) const;
  std::uint64_t loop_frame(const TraceRecord& r, std::uint64_t ph);
  void on_return(Socket& s, const TraceRecord& r);
  void on_set_status(Socket& s, const TraceRecord& r);
  void on_get_status(Socket& s, const TraceRecord& r);
  void on_destruct(Socket& s, const TraceRecord& r, std::uint64_t ph);
  // AVAILABLE from the line after the destructor's store (an -O2 kernel's stand-in,
  // correlator_give_back.cpp): tied to the destruct.set_available record before the store.
  struct GiveBack {
    std::uint64_t ph = 0;
    std::optional<std::uint64_t> skb;
    std::uint64_t ts = 0;
  };
  void note_give_back(const TraceRecord& r, std::uint64_t ph);
  void on_after_available(Socket& s, const TraceRecord& r);
  // The steps of join: the sender's ring of a socket (false: no ring has a frame waiting in
  // slot `index`), then the frames queued in the slot before `cur` that the kernel was never
  // seen to take (handed to the sink as not_seen); returns the frame the use carried.
  bool place_socket(Socket& s, std::uint32_t index, std::uint64_t first);
  sender::FrameRecord pass_unseen(std::uint32_t ring, std::uint32_t index, sender::FrameRecord cur,
                                  std::uint64_t first);

  CorrelatorOptions opt_;
  SenderSource* sender_;
  Sink sink_;
  KernelStats stats_;
  std::unordered_map<std::uint64_t, Socket> sockets_;
  std::unordered_map<std::uint64_t, Slot> slots_;
  std::unordered_map<std::uint32_t, Call> calls_;
  std::vector<bool> ring_taken_;
  std::uint32_t next_ring_ = 0; // without sender records: the next socket's ring number
  std::uint64_t now_ = 0;       // the timestamp of the record being read (UINT64_MAX: the end)
  std::uint64_t blind_destructs_ = 0;         // destructor records without `ph` (an -O2 kernel's)
  std::vector<std::uint64_t> after_destruct_; // slots whose destructor record was the last read
  // Per thread, the give-backs whose store is not yet shown made, innermost last: a destructor
  // can run inside another on the same thread (a softirq), never across threads.
  std::unordered_map<std::uint32_t, std::vector<GiveBack>> give_backs_;
  bool finished_ = false;
  bool markers_seen_ = false; // a destruct.set_available record was read (correlator_protocol)
};

} // namespace harness::report
