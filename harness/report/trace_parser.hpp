#pragma once

// Streaming parser of probe output (DESIGN.md "Trace format", probes/trace_format.hpp). One line at
// a time, no allocation per record. Lines that are not records (stap's own output) are counted;
// a record line that cannot be parsed (truncated, two lines run together, a bad number) is
// counted as malformed, a few are kept as samples, and parsing goes on: never fatal.

#include "harness/report/anchor_ids.hpp"
#include "harness/report/trace_record.hpp"
#include "probes/trace_number.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

struct BadLine {
  std::uint64_t line = 0; // 1-based
  std::string reason;
  std::string text; // cut to 160 characters
};

struct ParseStats {
  std::uint64_t lines = 0;          // every line fed
  std::uint64_t records = 0;        // lines that parsed as records (all kinds)
  std::uint64_t events = 0;         // EV records
  std::uint64_t other_lines = 0;    // lines not starting with "HX1 " (stap's own output)
  std::uint64_t malformed = 0;      // "HX1 " lines that could not be parsed
  std::uint64_t truncated_tail = 0; // a last line without its newline (output cut off)
  std::uint64_t ready_records = 0;
  std::uint64_t lost_records = 0;      // LOST records (the tracer's own report of what it lost)
  std::vector<BadLine> samples;        // the first few malformed lines
  std::optional<ReadyInfo> ready;      // the first READY record
  std::optional<std::uint64_t> end_ts; // the END record's timestamp
  // HITS records by anchor id (index = AnchorId); -1 when the anchor had no HITS record.
  std::vector<std::int64_t> hits;
  // EV records counted per anchor id.
  std::vector<std::uint64_t> events_by_anchor;
};

class TraceParser {
public:
  static constexpr std::size_t kMaxSamples = 5;

  // Parses one line (without its '\n'). Returns the record when the line is one, nullptr for
  // anything else; the pointer stays valid until the next call.
  const TraceRecord* feed(std::string_view line);
  // Call when the input ended without a final newline: the unterminated line is counted as
  // truncated (it may have been cut mid-value) and not parsed.
  void note_truncated_tail(std::string_view tail);

  const ParseStats& stats() const { return stats_; }
  const AnchorIds& anchors() const { return anchors_; }
  AnchorIds& anchors() { return anchors_; }

private:
  bool parse_record(std::string_view line, std::string_view& why);
  bool parse_event(std::string_view rest, std::string_view& why);
  bool parse_lost(std::string_view rest, std::string_view& why);
  bool parse_hits(std::string_view rest, std::string_view& why);
  bool parse_end(std::string_view rest, std::string_view& why);
  bool parse_ready(std::string_view rest, std::string_view& why);
  void bad(std::string_view line, std::string_view why);
  void count_anchor(AnchorId id);

  AnchorIds anchors_;
  ParseStats stats_;
  TraceRecord rec_;
  // Per anchor id, the key of each field position in its last record (kUnknownKey: none yet,
  // or a key this version does not know).
  static constexpr std::uint8_t kUnknownKey = 0xff;
  static constexpr std::size_t kPredictedFields = 16;
  using Prediction = std::array<std::uint8_t, kPredictedFields>;
  static constexpr Prediction kNoPrediction = [] {
    Prediction p{};
    p.fill(kUnknownKey);
    return p;
  }();
  std::vector<Prediction> predicted_;
  bool parse_fields(const char* p, const char* e, Prediction& predicted, std::string_view& why);
};

// The number grammar: probes/trace_number.hpp.
using probes::parse_trace_number;

} // namespace harness::report
