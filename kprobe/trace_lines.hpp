#pragma once

// tracefs output -> harness trace records. The kprobe tracer reads its instance's trace_pipe,
// whose lines look like (docs/DESIGN.md "kprobe tracer"):
//
//   harness-41  (     41) [000] .....   4.677919: snd_len_sum: (tpacket_snd+0xa4f/0xaf0)
//   ph=0xffff88800086a000 head=2 tp_len=150 COMM-TID    (TGID)     [CPU] FLAGS  SECONDS:   EVENT:
//   (WHERE)                   ARGS
//
// and turns each line of one of its own events into the record a stap script prints for the same
// anchor (`HX1 EV <ts_ns> <cpu> <pid> <tid> <anchor> key=value ...`, probes/trace_format.hpp), so
// that parser, correlator and report are the same for both tracers. Times are the instance's
// `mono` clock, moved onto CLOCK_REALTIME (the sender's clock) by an offset taken at start.
// Keys the definitions could not fetch are printed as `?`. Pure: no tracefs access here.

#include "kprobe/definitions.hpp"
#include "probes/probe_plan.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace harness::kprobe {

// The tracepoint the kprobe tracer enables for the `sched.sleep` anchor (DESIGN.md "Kernel event
// anchors"), and the state a sched_switch line's `prev_state=S|D|...` letters stand for (0: the
// task stayed runnable, a preemption: not a sleep).
inline constexpr std::string_view sched_switch_event = "sched/sched_switch";
std::uint64_t sched_state_value(std::string_view letters);
// The filter of that tracepoint: switches away from tasks named one of `comms` (what the kernel
// keeps, 15 bytes; anything but [A-Za-z0-9_.-] becomes the glob `?`) but not the reading thread
// `reader_tid` (every record it writes could make it sleep). Empty `comms`: "harness".
std::string sched_switch_filter(const std::vector<std::string>& comms, std::uint32_t reader_tid);

// The fixed part of a tracefs line (exposed for tests).
struct TracefsLine {
  std::string_view comm;
  std::uint32_t tid = 0;
  std::optional<std::uint32_t> tgid; // with options/record-tgid
  std::uint32_t cpu = 0;
  std::uint64_t ts_ns = 0; // the trace clock, ns (printed with microsecond or finer precision)
  std::string_view event;
  std::string_view rest; // after "EVENT: "
};
std::optional<TracefsLine> parse_tracefs_line(std::string_view line);

class LineTranslator {
public:
  // `clock_offset_ns` is added to every timestamp (CLOCK_REALTIME - CLOCK_MONOTONIC).
  // `tgid_of` maps a thread id to its process id when the line does not carry it (the session
  // sets its instance's record-tgid option; tracefs prints `(-------)` for a task it saved no
  // tgid for, and no column on kernels without the option); default: tid.
  using TgidOf = std::function<std::uint32_t(std::uint32_t tid)>;
  LineTranslator(const KprobeDefs& defs, const probes::ProbePlan& plan,
                 std::int64_t clock_offset_ns, TgidOf tgid_of = {});

  // Appends the HX1 record for `line` to `out` (with '\n') and returns true when the line is an
  // event of the definitions; returns false (out unchanged) for anything else.
  bool translate(std::string_view line, std::string& out);

  std::uint64_t translated() const { return translated_; }
  std::uint64_t foreign() const { return foreign_; } // lines that were not our events
  std::uint64_t repeats() const { return repeats_; } // second addresses of one execution
  // The names (comm) of the threads seen entering tpacket_snd, first seen first, at most
  // kMaxSenderComms (only with sched.sleep in the plan): the session widens its sched_switch
  // filter with them, so a thread that renamed itself or a program exec'd later is seen.
  static constexpr std::size_t kMaxSenderComms = 32;
  const std::vector<std::string>& sender_comms() const { return sender_comms_; }
  // Events seen per anchor (by event name), for the HITS records.
  const std::unordered_map<std::string, std::uint64_t>& hits_by_anchor() const { return hits_; }

  // Lost events: tracefs prints `CPU:N [LOST M EVENTS]` (or `[LOST EVENTS]`, no count) before the
  // first event it read from CPU N after the ring buffer overwrote M of that CPU's events. Each
  // becomes a LOST record (probes/trace_format.hpp) from that CPU's previous event to that one,
  // written before it. Returns true for such a line.
  bool note_lost_marker(std::string_view line);
  // Losses whose next event never came: LOST records up to the end of the trace.
  void flush_lost(std::string& out);
  std::uint64_t lost_marked() const { return lost_marked_; } // events the markers counted
  std::uint64_t lost_marked_on(std::uint32_t cpu) const;
  bool lost_uncounted() const { return lost_uncounted_; } // a marker without a count
  // Lines read of the definitions' events (repeats included): what kprobe_profile's hits
  // should match.
  std::uint64_t event_lines() const { return translated_ + repeats_ - sleep_lines(); }

private:
  struct EventInfo {
    std::string anchor;
    std::vector<std::string> keys; // the plan's fields, in order
    std::vector<bool> unreadable;  // per key: not fetched on this kernel
    std::uint64_t* hits = nullptr;
  };
  std::optional<std::uint64_t> record_ts(std::uint64_t line_ns) const;
  void write_event_head(const TracefsLine& t, std::uint64_t ts, std::string& out);
  bool translate_sched_switch(const TracefsLine& t, std::uint64_t ts, std::string& out);
  bool seen_at_another_address(const TracefsLine& t, const EventInfo& info);
  void track_sender(const TracefsLine& t, const EventInfo& info);

  std::unordered_map<std::string, EventInfo> events_;
  std::uint64_t* sleep_hits_ = nullptr; // sched.sleep in the plan: sched_switch lines count
  // Threads between snd.start and snd.return: as the stap scripts do, sched.sleep is written
  // only for them (the correlator needs no other, and the tracer's own writes would otherwise
  // feed back: every record it writes can make it sleep).
  std::unordered_map<std::uint32_t, bool> in_snd_;
  std::vector<std::string> sender_comms_;
  struct LastRecord {
    const std::uint64_t* anchor = nullptr; // the anchor's hit counter: one per anchor
    std::string event, values;
  };
  std::unordered_map<std::uint32_t, LastRecord> last_; // per thread
  std::uint64_t repeats_ = 0;
  std::unordered_map<std::string, std::uint64_t> hits_;
  struct CpuLoss {
    std::optional<std::uint64_t> last_ts; // the last event read from this CPU (record time)
    bool pending = false;                 // a marker waits for the CPU's next event
    std::optional<std::uint64_t> count;   // its count (none: `[LOST EVENTS]`)
    std::uint64_t marked = 0;
  };
  void place_lost(std::uint32_t cpu, std::uint64_t ts, std::string& out);
  std::uint64_t sleep_lines() const { return sleep_hits_ ? *sleep_hits_ : 0; }
  std::unordered_map<std::uint32_t, CpuLoss> cpus_;
  std::uint64_t lost_marked_ = 0;
  bool lost_uncounted_ = false;
  std::int64_t offset_;
  TgidOf tgid_of_;
  std::uint64_t translated_ = 0, foreign_ = 0;
};

} // namespace harness::kprobe
