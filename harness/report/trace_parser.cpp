#include "harness/report/trace_parser.hpp"

#include "probes/swar.hpp"
#include "probes/trace_format.hpp"
#include "probes/trace_number.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace harness::report {
namespace {

namespace tf = harness::probes::trace;
using namespace harness::probes::trace_number;

// Splits off the next space-separated word; `rest` keeps what follows the separator.
std::string_view next_word(std::string_view& rest) {
  // A plain loop: words are short, so this beats memchr's setup.
  const char* p = rest.data();
  const char* e = p + rest.size();
  const char* q = p;
  while (q < e && *q != tf::separator)
    ++q;
  const std::string_view w(p, static_cast<std::size_t>(q - p));
  rest = q < e ? std::string_view(q + 1, static_cast<std::size_t>(e - q - 1)) : std::string_view{};
  return w;
}

// Each key followed by '=' as one little-endian word, for keys of up to seven characters (all
// but three); the rest compare with memcmp.
struct KeyWord {
  std::string_view name;
  std::uint64_t word = 0, mask = 0;
};
const std::array<KeyWord, kKeyCount> kKeyWords = [] {
  std::array<KeyWord, kKeyCount> t{};
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    t[i].name = key_name(static_cast<Key>(i));
    if (t[i].name.size() + 1 <= 8) {
      char b[8] = {};
      std::memcpy(b, t[i].name.data(), t[i].name.size());
      b[t[i].name.size()] = tf::key_value;
      std::memcpy(&t[i].word, b, 8);
      t[i].mask = t[i].name.size() + 1 == 8 ? ~0ull : (1ull << (8 * (t[i].name.size() + 1))) - 1;
    }
  }
  return t;
}();

// Whether [p, e) starts with "KEY=".
inline bool starts_with_key(const char* p, const char* e, const KeyWord& k) {
  if (k.mask != 0 && e - p >= 8)
    return (probes::swar::load8(p) & k.mask) == k.word;
  return static_cast<std::size_t>(e - p) > k.name.size() && p[k.name.size()] == tf::key_value &&
         std::memcmp(p, k.name.data(), k.name.size()) == 0;
}

inline bool at_word_end(const char* p, const char* e) {
  return p == e || *p == tf::separator;
}

} // namespace

void TraceParser::count_anchor(AnchorId id) {
  if (stats_.events_by_anchor.size() <= id)
    stats_.events_by_anchor.resize(id + 1u, 0);
  ++stats_.events_by_anchor[id];
}

void TraceParser::bad(std::string_view line, std::string_view why) {
  ++stats_.malformed;
  if (stats_.samples.size() < kMaxSamples) {
    std::string text(line.substr(0, 160));
    for (char& c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        c = '?';
    stats_.samples.push_back({stats_.lines, std::string(why), std::move(text)});
  }
}

void TraceParser::note_truncated_tail(std::string_view tail) {
  ++stats_.lines;
  if (tail.substr(0, tf::line_prefix.size()) != tf::line_prefix) {
    ++stats_.other_lines;
    return;
  }
  ++stats_.truncated_tail;
  bad(tail, "last line has no newline: output was cut off");
}

const TraceRecord* TraceParser::feed(std::string_view line) {
  ++stats_.lines;
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.size() < tf::line_prefix.size() ||
      std::memcmp(line.data(), tf::line_prefix.data(), tf::line_prefix.size()) != 0) {
    ++stats_.other_lines;
    return nullptr;
  }
  std::string_view why;
  if (!parse_record(line, why)) {
    bad(line, why);
    return nullptr;
  }
  rec_.line = stats_.lines;
  ++stats_.records;
  return &rec_;
}

bool TraceParser::parse_record(std::string_view line, std::string_view& why) {
  std::string_view rest = line.substr(tf::line_prefix.size());
  const std::string_view kind = next_word(rest);
  // Two records run together (interleaved writers, a lost newline) show a second prefix; the
  // EV parser finds it as a word, the others look for it here.
  if (kind != tf::kind::event && rest.find(" HX1 ") != std::string_view::npos) {
    why = "two records on one line";
    return false;
  }
  if (kind == tf::kind::event) {
    if (!parse_event(rest, why))
      return false;
    ++stats_.events;
    count_anchor(rec_.anchor);
    return true;
  }
  if (kind == tf::kind::hits)
    return parse_hits(rest, why);
  if (kind == tf::kind::end)
    return parse_end(rest, why);
  if (kind == tf::kind::lost)
    return parse_lost(rest, why);
  if (kind == tf::kind::ready)
    return parse_ready(rest, why);
  why = "unknown record kind";
  return false;
}

// HX1 HITS <anchor> <count>: the probe's own count of its records (END summary).
bool TraceParser::parse_hits(std::string_view rest, std::string_view& why) {
  const auto name = next_word(rest);
  const auto count = parse_bounded(next_word(rest));
  if (!count || !rest.empty()) {
    why = "HITS needs an anchor and a count";
    return false;
  }
  const auto id = anchors_.intern(name);
  if (!id) {
    why = "invalid anchor name";
    return false;
  }
  rec_ = TraceRecord{};
  rec_.kind = RecordKind::hits;
  rec_.anchor = *id;
  rec_.count = *count;
  if (stats_.hits.size() <= *id)
    stats_.hits.resize(*id + 1u, -1);
  stats_.hits[*id] = static_cast<std::int64_t>(*count);
  return true;
}

// HX1 END <ts_ns>: the script's end probe ran.
bool TraceParser::parse_end(std::string_view rest, std::string_view& why) {
  const auto ts = parse_bounded(next_word(rest));
  if (!ts) {
    why = "END needs a timestamp";
    return false;
  }
  rec_ = TraceRecord{};
  rec_.kind = RecordKind::end;
  rec_.ts_ns = *ts;
  stats_.end_ts = *ts;
  return true;
}

// HX1 READY <ts_ns> plan=... kernel=... probes=...: the script is running; the first one counts.
bool TraceParser::parse_ready(std::string_view rest, std::string_view& why) {
  const auto ts = parse_bounded(next_word(rest));
  if (!ts) {
    why = "READY needs a timestamp";
    return false;
  }
  ReadyInfo info;
  info.ts_ns = *ts;
  while (!rest.empty()) {
    const auto word = next_word(rest);
    const auto eq = word.find(tf::key_value);
    if (eq == std::string_view::npos)
      continue;
    const auto k = word.substr(0, eq);
    std::string v(word.substr(eq + 1, 128));
    for (char& c : v)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        c = '?';
    if (k == tf::ready_key::plan)
      info.plan = std::move(v);
    else if (k == tf::ready_key::kernel)
      info.kernel = std::move(v);
    else if (k == tf::ready_key::probes)
      info.probes = std::move(v);
  }
  rec_ = TraceRecord{};
  rec_.kind = RecordKind::ready;
  rec_.ts_ns = *ts;
  ++stats_.ready_records;
  if (!stats_.ready)
    stats_.ready = std::move(info);
  return true;
}

// HX1 LOST <from_ns|-> <to_ns|-> <cpu|-> <count|?> <cause> (probes/trace_format.hpp).
bool TraceParser::parse_lost(std::string_view rest, std::string_view& why) {
  why = "LOST needs <from_ns|-> <to_ns|-> <cpu|-> <count|?> <cause>";
  TraceRecord r;
  r.kind = RecordKind::lost;
  const auto from = next_word(rest);
  const auto to = next_word(rest);
  const auto cpu = next_word(rest);
  const auto count = next_word(rest);
  const auto cause = next_word(rest);
  if (cause.empty() || !rest.empty())
    return false;
  if (from != tf::open_end) {
    const auto v = parse_bounded(from);
    if (!v)
      return false;
    r.ts_ns = *v;
  }
  r.to_ns = UINT64_MAX;
  if (to != tf::open_end) {
    const auto v = parse_bounded(to);
    if (!v || *v < r.ts_ns)
      return false;
    r.to_ns = *v;
  }
  r.any_cpu = cpu == tf::open_end;
  if (!r.any_cpu) {
    const auto v = parse_decimal(cpu);
    if (!v || *v > UINT32_MAX)
      return false;
    r.cpu = static_cast<std::uint32_t>(*v);
  }
  if (count != tf::missing) {
    const auto v = parse_bounded(count);
    if (!v)
      return false;
    r.count = *v;
    r.count_known = true;
  }
  r.cause = lost_cause_from_name(cause);
  rec_ = r;
  ++stats_.lost_records;
  return true;
}

bool TraceParser::parse_event(std::string_view rest, std::string_view& why) {
  // One pass with a cursor, numbers parsed where they are scanned: this runs for every record
  // of traces with millions of them.
  TraceRecord& r = rec_;
  r.kind = RecordKind::event;
  r.given = 0;
  r.missing = 0;
  r.seq = 0;
  const char* p = rest.data();
  const char* const e = p + rest.size();
  std::uint64_t pos[4] = {0, 0, 0, 0}; // ts cpu pid tid
  for (auto& v : pos) {
    const char* q = scan_decimal(p, e, v);
    if (!q || q == e || *q != tf::separator) {
      why = "EV needs <ts_ns> <cpu> <pid> <tid> as numbers";
      return false;
    }
    p = q + 1;
  }
  if (pos[0] > kMaxTraceNumber || pos[1] > UINT32_MAX || pos[2] > UINT32_MAX ||
      pos[3] > UINT32_MAX) {
    why = "EV needs <ts_ns> <cpu> <pid> <tid> as numbers";
    return false;
  }
  const char* q = probes::swar::find(p, e, tf::separator);
  const std::string_view name(p, static_cast<std::size_t>(q - p));
  p = q < e ? q + 1 : q;
  const auto id = anchors_.intern(name);
  if (!id) {
    why = name.empty() ? "EV without an anchor" : "invalid anchor name";
    return false;
  }
  r.ts_ns = pos[0];
  r.cpu = static_cast<std::uint32_t>(pos[1]);
  r.pid = static_cast<std::uint32_t>(pos[2]);
  r.tid = static_cast<std::uint32_t>(pos[3]);
  r.anchor = *id;
  // A generated script prints the same keys in the same order for every record of an anchor:
  // the key of field i is first tried as the one this anchor's last record had there.
  if (predicted_.size() <= *id)
    predicted_.resize(*id + 1u, kNoPrediction);
  return parse_fields(p, e, predicted_[*id], why);
}

// The key=value fields of an EV record, from `p` to `e`, into rec_. `predicted`: the key of each
// field position in the anchor's last record, tried first and updated.
bool TraceParser::parse_fields(const char* p, const char* e, Prediction& predicted,
                               std::string_view& why) {
  TraceRecord& r = rec_;
  std::size_t field = 0;
  while (p < e) {
    if (*p == tf::separator) { // doubled separator
      ++p;
      continue;
    }
    std::optional<Key> key;
    const std::uint8_t guess = field < predicted.size() ? predicted[field] : kUnknownKey;
    if (guess < kKeyCount && starts_with_key(p, e, kKeyWords[guess])) {
      key = static_cast<Key>(guess);
      p += kKeyWords[guess].name.size() + 1;
    }
    if (!key) {
      const char* k = p;
      while (p < e && *p != tf::key_value && *p != tf::separator)
        ++p;
      if (p == e || *p != tf::key_value || p == k) {
        const std::string_view w(k, static_cast<std::size_t>(p - k));
        why = w == tf::prefix ? "two records on one line" : "field without key=value";
        return false;
      }
      const std::string_view key_text(k, static_cast<std::size_t>(p - k));
      key = key_from_name(key_text);
      ++p; // '='
      if (!key && key_text == tf::record_key::seq) {
        // The record's own number, not a kernel value (probes/trace_format.hpp).
        const char* end = scan_decimal(p, e, r.seq);
        if (!end || !at_word_end(end, e) || r.seq > kMaxTraceNumber) {
          why = "sq is not a number";
          return false;
        }
        p = end;
        ++field;
        continue;
      }
      if (field < predicted.size())
        predicted[field] = key ? static_cast<std::uint8_t>(*key) : kUnknownKey;
    }
    ++field;
    if (!key) { // unknown keys are ignored (format rule)
      while (p < e && *p != tf::separator)
        ++p;
      continue;
    }
    const auto bit = TraceRecord::bit(*key);
    if (p < e && *p == tf::missing.front() && at_word_end(p + 1, e)) {
      r.missing |= bit;
      r.given &= ~bit;
      ++p;
      continue;
    }
    std::uint64_t v = 0;
    const char* end = scan_value(p, e, v);
    if (!end || !at_word_end(end, e)) {
      why = "value is not a number, 0x-hex or ?";
      return false;
    }
    p = end;
    r.values[static_cast<std::size_t>(*key)] = v;
    r.given |= bit;
    r.missing &= ~bit;
  }
  return true;
}

} // namespace harness::report
