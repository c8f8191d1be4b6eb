#pragma once

// One parsed probe record (DESIGN.md "Trace format"). Kept small and allocation-free: the parser
// fills one in place per line, and the reorder window holds a bounded number of copies.

#include "probes/trace_format.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace harness::report {

// The EV keys, as their positions in probes::trace::all_keys (the one list of keys). The
// enumerators name the keys the report reads; every key of the list is parsed and kept.
consteval std::uint8_t key_id(std::string_view name) {
  for (std::size_t i = 0; i < probes::trace::all_keys.size(); ++i)
    if (probes::trace::all_keys[i] == name)
      return static_cast<std::uint8_t>(i);
  throw "not a key of probes/trace_format.hpp";
}

enum class Key : std::uint8_t {
  po = key_id(probes::trace::key::po),
  frame = key_id(probes::trace::key::frame),
  ph = key_id(probes::trace::key::ph),
  status = key_id(probes::trace::key::status),
  head = key_id(probes::trace::key::head),
  frame_max = key_id(probes::trace::key::frame_max),
  frame_size = key_id(probes::trace::key::frame_size),
  frames_per_block = key_id(probes::trace::key::frames_per_block),
  version = key_id(probes::trace::key::version),
  flags = key_id(probes::trace::key::flags),
  pending = key_id(probes::trace::key::pending),
  err = key_id(probes::trace::key::err),
  len_sum = key_id(probes::trace::key::len_sum),
  tp_len = key_id(probes::trace::key::tp_len),
  ts = key_id(probes::trace::key::ts),
  sndbuf = key_id(probes::trace::key::sndbuf),
  wmem = key_id(probes::trace::key::wmem),
  noblock = key_id(probes::trace::key::noblock),
  state = key_id(probes::trace::key::state),
  timeo = key_id(probes::trace::key::timeo),
  skb = key_id(probes::trace::key::skb),
};
inline constexpr std::size_t kKeyCount = probes::trace::all_keys.size();
static_assert(kKeyCount <= 32, "TraceRecord keeps one bit per key in a 32-bit mask");

std::string_view key_name(Key k);
std::optional<Key> key_from_name(std::string_view name);

using AnchorId = std::uint16_t;

enum class RecordKind : std::uint8_t { ready, event, hits, end, lost };

// Why a tracer lost records (probes::trace::lost_cause, DESIGN.md "Lost records").
enum class LostCause : std::uint8_t { overrun, missed, transport, skipped, gap, uncounted, other };
inline constexpr std::size_t kLostCauses = static_cast<std::size_t>(LostCause::other) + 1;
std::string_view lost_cause_name(LostCause c);
LostCause lost_cause_from_name(std::string_view name); // `other` for a word it does not know

struct TraceRecord {
  RecordKind kind = RecordKind::event;
  AnchorId anchor = 0; // EV and HITS
  std::uint32_t cpu = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::uint64_t ts_ns = 0;            // EV, READY, END; LOST: the window's start (0: the trace's)
  std::uint64_t count = 0;            // HITS; LOST: records lost (when count_known)
  std::uint64_t seq = 0;              // EV: its `sq` (0: the tracer does not number its records)
  std::uint64_t to_ns = 0;            // LOST: the window's end (UINT64_MAX: the trace's)
  bool count_known = false;           // LOST
  bool any_cpu = false;               // LOST: `-`, the records of every CPU
  LostCause cause = LostCause::other; // LOST
  std::uint64_t line = 0;             // line number in the trace (1-based), for messages
  std::uint32_t given = 0;            // bit per Key: a number was printed
  std::uint32_t missing = 0;          // bit per Key: `?` was printed (optimised out, fault)
  std::array<std::uint64_t, kKeyCount> values{}; // two's complement for negative numbers

  static constexpr std::uint32_t bit(Key k) { return 1u << static_cast<unsigned>(k); }
  bool has(Key k) const { return (given & bit(k)) != 0; }
  bool unreadable(Key k) const { return (missing & bit(k)) != 0; }
  std::uint64_t get(Key k) const { return values[static_cast<std::size_t>(k)]; }
  std::int64_t get_signed(Key k) const { return static_cast<std::int64_t>(get(k)); }
  std::optional<std::uint64_t> value(Key k) const {
    return has(k) ? std::optional(get(k)) : std::nullopt;
  }
};

// The READY record's words.
struct ReadyInfo {
  std::uint64_t ts_ns = 0;
  std::string plan;
  std::string kernel;
  std::string probes;
};

} // namespace harness::report
