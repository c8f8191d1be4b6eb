#pragma once

// The probe output record format (DESIGN.md "Trace format"): the single definition shared by the
// script generator (which prints records) and the trace parser (which reads them).
//
//   HX1 READY <ts_ns> plan=<plan id> kernel=<release> probes=<set>
//   HX1 EV <ts_ns> <cpu> <pid> <tid> <anchor> key=value key=value ...
//   HX1 HITS <anchor> <count>
//   HX1 END <ts_ns>
//   HX1 LOST <from_ns|-> <to_ns|-> <cpu|-> <count|?> <cause>
//
// Values are decimal integers or 0x-hex addresses; `?` marks a value the probe could not read.
// Parsers ignore unknown keys and every line not starting with `HX1 `.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace harness::probes::trace {

inline constexpr std::string_view prefix = "HX1";
inline constexpr std::string_view line_prefix = "HX1 "; // prefix + separator
inline constexpr char separator = ' ';
inline constexpr char key_value = '=';
inline constexpr std::string_view missing = "?"; // optimised out, fault, not readable
inline constexpr std::string_view hex_prefix = "0x";

// Record kinds (second word of a record line).
namespace kind {
inline constexpr std::string_view ready = "READY";
inline constexpr std::string_view event = "EV";
inline constexpr std::string_view hits = "HITS";
inline constexpr std::string_view end = "END";
// Records the tracer lost (DESIGN.md "Lost records"): they fell between `from` and `to`.
inline constexpr std::string_view lost = "LOST";
} // namespace kind

// The words of a LOST record after the kind: from_ns to_ns cpu count cause. `-` for `from`
// (`to`) is the start (end) of the trace, for `cpu` any CPU; `?` for `count` an unknown number.
inline constexpr std::string_view open_end = "-";
namespace lost_cause {
inline constexpr std::string_view overrun = "overrun";     // kprobe: the ring buffer overwrote them
inline constexpr std::string_view missed = "missed";       // kprobe: a probe hit while one ran
inline constexpr std::string_view transport = "transport"; // stap: the transport buffer was full
inline constexpr std::string_view skipped = "skipped";     // stap: probes skipped (lock, overload)
inline constexpr std::string_view gap = "gap";             // records missing from the `sq` count
inline constexpr std::string_view uncounted = "uncounted"; // HITS above the records delivered
} // namespace lost_cause

// One LOST record, with its newline. Absent ends, cpu and count print as `-`, `-` and `?`.
inline std::string lost_record(std::optional<std::uint64_t> from_ns,
                               std::optional<std::uint64_t> to_ns, std::optional<std::uint32_t> cpu,
                               std::optional<std::uint64_t> count, std::string_view cause) {
  auto num = [](auto v, std::string_view none) {
    return v ? std::to_string(*v) : std::string(none);
  };
  std::string s(line_prefix);
  s += kind::lost;
  s += ' ' + num(from_ns, open_end) + ' ' + num(to_ns, open_end) + ' ' + num(cpu, open_end) + ' ' +
       num(count, missing) + ' ';
  s += cause;
  s += '\n';
  return s;
}

// The head of a record line, for a tracer's live view of its own output (READY seen, END seen,
// the anchor of an event, whether it is numbered): nothing for a line that is not `HX1 KIND`.
// The report reads records whole (harness/report/trace_parser.hpp).
struct RecordHead {
  std::string_view kind;
  std::string_view anchor; // EV only
  bool numbered = false;   // EV only: it carries `sq=`
};
std::optional<RecordHead> record_head(std::string_view line);

// Keys of an EV record that belong to the record, not to the kernel: `sq` numbers every record a
// script prints (1, 2, ...; HITS add up to the last), so a gap shows where records were lost.
namespace record_key {
inline constexpr std::string_view seq = "sq";
} // namespace record_key

// Keys of the READY record.
namespace ready_key {
inline constexpr std::string_view plan = "plan";
inline constexpr std::string_view kernel = "kernel";
inline constexpr std::string_view probes = "probes";
} // namespace ready_key

// Positional words of an EV record after the kind: ts_ns cpu pid tid anchor, then key=value.
inline constexpr int event_positional_fields = 5;

// Keys of EV records.
namespace key {
inline constexpr std::string_view po = "po";       // struct packet_sock *, hex, on every event
inline constexpr std::string_view frame = "frame"; // frame header in set/get status, hex
inline constexpr std::string_view ph = "ph";       // frame in tpacket_snd / destructor, hex
inline constexpr std::string_view status = "status";
inline constexpr std::string_view head = "head"; // tx_ring.head (frame index)
inline constexpr std::string_view frame_max = "frame_max";
inline constexpr std::string_view frame_size = "frame_size";
inline constexpr std::string_view frames_per_block = "frames_per_block";
inline constexpr std::string_view version = "version"; // po->tp_version (0 = V1, 1 = V2, 2 = V3)
inline constexpr std::string_view flags = "flags";     // msg->msg_flags
inline constexpr std::string_view pending = "pending"; // TX frames in flight (see generate.hpp)
inline constexpr std::string_view err = "err";
inline constexpr std::string_view len_sum = "len_sum";
inline constexpr std::string_view tp_len = "tp_len";
inline constexpr std::string_view ts = "ts"; // timestamp flags OR-ed into AVAILABLE
inline constexpr std::string_view sndbuf = "sndbuf";
inline constexpr std::string_view wmem = "wmem"; // sk_wmem_alloc
// Kernel event anchors (DESIGN.md "Kernel event anchors"), not af_packet.c lines:
inline constexpr std::string_view noblock = "noblock"; // alloc.enter: sock_alloc_send_pskb's int
inline constexpr std::string_view state = "state";     // sched.sleep: prev task state (non-zero)
// snd.wait / snd.wait_continue: tpacket_snd's `long timeo`, the send timeout left (jiffies).
inline constexpr std::string_view timeo = "timeo";
// The destructor's struct sk_buff *: at -O2 the line after the AVAILABLE store has no `ph`, and
// its skb ties it to the record before the store that has both (destruct.after_available).
inline constexpr std::string_view skb = "skb";
} // namespace key

// Every EV key: the one list of them. The report's `Key` ids are positions in it
// (harness/report/trace_record.hpp); names that come from files (kprobe definitions) are
// validated against it. A new key is one entry here (and its name above).
inline constexpr std::array all_keys = {
    key::po,      key::frame,     key::ph,         key::status,
    key::head,    key::frame_max, key::frame_size, key::frames_per_block,
    key::version, key::flags,     key::pending,    key::err,
    key::len_sum, key::tp_len,    key::ts,         key::sndbuf,
    key::wmem,    key::noblock,   key::state,      key::timeo,
    key::skb};

constexpr bool is_key(std::string_view k) {
  for (auto a : all_keys)
    if (a == k)
      return true;
  return false;
}

// Keys whose values are addresses (printed as 0x-hex).
inline constexpr std::array<std::string_view, 4> address_keys = {key::po, key::frame, key::ph,
                                                                 key::skb};

inline constexpr bool is_address_key(std::string_view k) {
  for (auto a : address_keys)
    if (a == k)
      return true;
  return false;
}

} // namespace harness::probes::trace
