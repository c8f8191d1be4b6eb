#pragma once

// One parsed probe record (DESIGN.md "Trace format"). Kept small and allocation-free: the parser
// fills one in place per line, and the reorder window holds a bounded number of copies.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace harness::report {

// The EV keys the correlator understands (stap/trace_format.hpp names them). Other keys are
// ignored, as the format requires.
enum class Key : std::uint8_t {
  po,
  frame,
  ph,
  status,
  head,
  frame_max,
  frame_size,
  frames_per_block,
  version,
  flags,
  pending,
  err,
  len_sum,
  tp_len,
  ts,
  sndbuf,
  wmem,
  noblock,
  state,
  timeo,
};
inline constexpr std::size_t kKeyCount = 20;

std::string_view key_name(Key k);
std::optional<Key> key_from_name(std::string_view name);

using AnchorId = std::uint16_t;

enum class RecordKind : std::uint8_t { ready, event, hits, end };

struct TraceRecord {
  RecordKind kind = RecordKind::event;
  AnchorId anchor = 0; // EV and HITS
  std::uint32_t cpu = 0;
  std::uint32_t pid = 0;
  std::uint32_t tid = 0;
  std::uint64_t ts_ns = 0;   // EV, READY, END
  std::uint64_t count = 0;   // HITS
  std::uint64_t line = 0;    // line number in the trace (1-based), for messages
  std::uint32_t given = 0;   // bit per Key: a number was printed
  std::uint32_t missing = 0; // bit per Key: `?` was printed (optimised out, fault)
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
