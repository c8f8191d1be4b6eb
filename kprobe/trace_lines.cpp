#include "kprobe/trace_lines.hpp"

#include "probes/trace_format.hpp"
#include "probes/trace_number.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace harness::kprobe {
namespace {

bool digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

template <class T> bool to_num(std::string_view s, T& v) {
  if (s.empty())
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// The " [CPU] " field: the first " [" followed by digits and "] ".
std::size_t find_cpu_field(std::string_view line, std::uint32_t& cpu, std::size_t& after) {
  for (std::size_t p = line.find(" ["); p != std::string_view::npos; p = line.find(" [", p + 1)) {
    std::size_t q = p + 2;
    while (q < line.size() && digit(line[q]))
      ++q;
    if (q > p + 2 && q + 1 < line.size() && line[q] == ']' && line[q + 1] == ' ' &&
        to_num(line.substr(p + 2, q - p - 2), cpu)) {
      after = q + 2;
      return p;
    }
  }
  return std::string_view::npos;
}

// "4.677919" -> ns (any number of fraction digits up to 9).
bool parse_seconds(std::string_view s, std::uint64_t& ns) {
  const auto dot = s.find('.');
  std::uint64_t sec = 0, frac = 0;
  if (dot == std::string_view::npos || !to_num(s.substr(0, dot), sec))
    return false;
  const std::string_view f = s.substr(dot + 1);
  if (f.empty() || f.size() > 9 || !to_num(f, frac))
    return false;
  for (std::size_t i = f.size(); i < 9; ++i)
    frac *= 10;
  if (sec > (static_cast<std::uint64_t>(INT64_MAX) - frac) / 1'000'000'000ull)
    return false; // beyond 2^63 ns, which no trace record holds
  ns = sec * 1'000'000'000ull + frac;
  return true;
}

// The event's values as " key=value" for each planned key, in the plan's order, from the
// arguments "key=value" after "(where)"; `?` where not fetched or not a number.
void append_values(std::string_view rest, const std::vector<std::string>& keys,
                   const std::vector<bool>& unreadable, std::string& out) {
  std::string_view args = rest;
  if (args.starts_with("(")) {
    const auto close = args.find(") ");
    args = close == std::string_view::npos ? std::string_view() : args.substr(close + 2);
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    std::string_view value = probes::trace::missing;
    if (!unreadable[i]) {
      for (std::size_t p = 0; p < args.size();) {
        std::size_t e = args.find(' ', p);
        if (e == std::string_view::npos)
          e = args.size();
        const std::string_view tok = args.substr(p, e - p);
        if (tok.size() > key.size() && tok.starts_with(key) && tok[key.size()] == '=') {
          const std::string_view v = tok.substr(key.size() + 1);
          // The trace parser's own number grammar (one home: harness/report/trace_parser.cpp):
          // what it would not read, such as `12ff`, a 21-digit decimal or one beyond 64 bits
          // (all three found by fuzz_tracefs_lines), is written as `?`.
          if (probes::parse_trace_number(v))
            value = v;
          break;
        }
        p = e + 1;
      }
    }
    out += ' ';
    out += key;
    out += '=';
    out += value;
  }
}

} // namespace

std::optional<TracefsLine> parse_tracefs_line(std::string_view line) {
  TracefsLine t;
  std::size_t after = 0;
  const std::size_t cpu_at = find_cpu_field(line, t.cpu, after);
  if (cpu_at == std::string_view::npos)
    return std::nullopt;
  std::string_view task = trim(line.substr(0, cpu_at));
  if (!task.empty() && task.back() == ')') {
    const auto open = task.rfind('(');
    if (open == std::string_view::npos)
      return std::nullopt;
    std::uint32_t tgid = 0;
    if (to_num(trim(task.substr(open + 1, task.size() - open - 2)), tgid))
      t.tgid = tgid;
    task = trim(task.substr(0, open));
  }
  const auto dash = task.rfind('-');
  if (dash == std::string_view::npos || !to_num(task.substr(dash + 1), t.tid))
    return std::nullopt;
  t.comm = task.substr(0, dash);
  // FLAGS then the timestamp "SECONDS:".
  std::string_view rest = line.substr(after);
  const auto flags_end = rest.find(' ');
  if (flags_end == std::string_view::npos)
    return std::nullopt;
  rest = trim(rest.substr(flags_end));
  const auto colon = rest.find(": ");
  if (colon == std::string_view::npos || !parse_seconds(rest.substr(0, colon), t.ts_ns))
    return std::nullopt;
  rest = rest.substr(colon + 2);
  const auto ev_end = rest.find(':');
  if (ev_end == std::string_view::npos || ev_end == 0)
    return std::nullopt;
  t.event = rest.substr(0, ev_end);
  t.rest = rest.substr(std::min(rest.size(), ev_end + 2));
  return t;
}

LineTranslator::LineTranslator(const KprobeDefs& defs, const probes::ProbePlan& plan,
                               std::int64_t clock_offset_ns, TgidOf tgid_of)
    : offset_(clock_offset_ns), tgid_of_(std::move(tgid_of)) {
  for (const auto& p : plan.anchors)
    hits_[p.anchor] = 0;
  for (const auto& e : defs.events) {
    EventInfo info;
    info.anchor = e.anchor;
    const probes::PlannedProbe* p = plan.find(e.anchor);
    if (p) {
      info.keys = p->fields;
      for (const auto& k : p->fields) {
        bool fetched = false;
        for (const auto& a : e.args)
          fetched = fetched || (a.size() > k.size() && a.starts_with(k) && a[k.size()] == '=');
        info.unreadable.push_back(!fetched);
      }
    }
    info.hits = &hits_[e.anchor];
    events_.emplace(e.event, std::move(info));
  }
  if (plan.find("sched.sleep"))
    sleep_hits_ = &hits_["sched.sleep"];
}

std::uint64_t sched_state_value(std::string_view letters) {
  // The letters sched_switch prints for the report states (TASK_REPORT): S D T t X Z P I, joined
  // by '|'; R and R+ are runnable (a preemption). Values as task_state_index() reports them.
  std::uint64_t v = 0;
  for (char c : letters) {
    switch (c) {
    case 'S':
      v |= 0x1;
      break;
    case 'D':
      v |= 0x2;
      break;
    case 'T':
      v |= 0x4;
      break;
    case 't':
      v |= 0x8;
      break;
    case 'X':
      v |= 0x10;
      break;
    case 'Z':
      v |= 0x20;
      break;
    case 'P':
      v |= 0x40;
      break;
    case 'I':
      v |= 0x80;
      break;
    case 'K':
      v |= 0x100;
      break;
    case 'W':
      v |= 0x200;
      break;
    default:
      break; // R, +, |
    }
  }
  return v;
}

std::string sched_switch_filter(const std::vector<std::string>& comms, std::uint32_t reader_tid) {
  constexpr std::size_t comm_len = 15; // TASK_COMM_LEN - 1
  std::vector<std::string> names;
  for (std::string c : comms.empty() ? std::vector<std::string>{"harness"} : comms) {
    c = c.substr(0, comm_len);
    for (char& ch : c)
      if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || digit(ch) || ch == '_' ||
            ch == '-' || ch == '.'))
        ch = '?';
    if (!c.empty() && std::find(names.begin(), names.end(), c) == names.end())
      names.push_back(c);
  }
  std::string f = "(";
  for (std::size_t i = 0; i < names.size(); ++i)
    f += (i ? " || " : "") + std::string("prev_comm ~ \"") + names[i] + "\"";
  return f + ") && prev_pid != " + std::to_string(reader_tid);
}

// The record's time: the line's moved by the clock offset, when that stays within 0..2^63 ns
// (the trace format's range; a later report.json must hold it).
std::optional<std::uint64_t> LineTranslator::record_ts(std::uint64_t line_ns) const {
  std::int64_t ts = 0;
  if (line_ns > static_cast<std::uint64_t>(INT64_MAX) ||
      __builtin_add_overflow(static_cast<std::int64_t>(line_ns), offset_, &ts) || ts < 0)
    return std::nullopt;
  return static_cast<std::uint64_t>(ts);
}

// "HX1 EV <ts_ns> <cpu> <pid> <tid>": the record's process id is the line's tgid column, else
// the lookup, else the thread id.
void LineTranslator::write_event_head(const TracefsLine& t, std::uint64_t ts, std::string& out) {
  const std::uint32_t pid = t.tgid ? *t.tgid : tgid_of_ ? tgid_of_(t.tid) : t.tid;
  out += probes::trace::line_prefix;
  out += probes::trace::kind::event;
  for (std::uint64_t v : {ts, std::uint64_t{t.cpu}, std::uint64_t{pid}, std::uint64_t{t.tid}}) {
    out += ' ';
    out += std::to_string(v);
  }
}

bool LineTranslator::translate_sched_switch(const TracefsLine& t, std::uint64_t ts,
                                            std::string& out) {
  const auto at = t.rest.find(" prev_state=");
  if (at == std::string_view::npos) {
    ++foreign_;
    return false;
  }
  if (auto it = in_snd_.find(t.tid); it == in_snd_.end() || !it->second)
    return false; // not inside tpacket_snd
  std::string_view letters = t.rest.substr(at + 12);
  letters = letters.substr(0, letters.find(' '));
  const std::uint64_t state = sched_state_value(letters);
  if (state == 0)
    return false; // runnable: preempted, not asleep
  ++*sleep_hits_;
  ++translated_;
  last_[t.tid] = LastRecord{};
  write_event_head(t, ts, out);
  out += " sched.sleep ";
  out += probes::trace::key::state;
  out += '=';
  out += std::to_string(state);
  out += '\n';
  return true;
}

bool LineTranslator::note_lost_marker(std::string_view line) {
  // kernel/trace/trace.c print_trace_line(): "CPU:%d [LOST %lu EVENTS]" or "CPU:%d [LOST EVENTS]".
  constexpr std::string_view head = "CPU:", mid = " [LOST ", tail = "EVENTS]";
  if (!line.starts_with(head) || !line.ends_with(tail))
    return false;
  std::string_view rest = line.substr(head.size());
  std::uint32_t cpu = 0;
  std::size_t i = 0;
  for (; i < rest.size() && digit(rest[i]) && i < 6; ++i)
    cpu = cpu * 10 + static_cast<std::uint32_t>(rest[i] - '0');
  if (i == 0 || !rest.substr(i).starts_with(mid))
    return false;
  rest = rest.substr(i + mid.size(), rest.size() - i - mid.size() - tail.size());
  std::optional<std::uint64_t> count;
  if (!rest.empty()) {
    if (rest.back() != ' ')
      return false;
    rest.remove_suffix(1);
    const auto n = probes::parse_trace_number(rest);
    if (!n || rest.empty() || !digit(rest.front()))
      return false;
    count = *n;
  }
  CpuLoss& c = cpus_[cpu];
  if (c.pending && c.count && count)
    *c.count += *count;
  else if (c.pending)
    c.count.reset();
  else
    c.count = count;
  c.pending = true;
  if (count) {
    c.marked += *count;
    lost_marked_ += *count;
  } else {
    lost_uncounted_ = true;
  }
  return true;
}

std::uint64_t LineTranslator::lost_marked_on(std::uint32_t cpu) const {
  auto it = cpus_.find(cpu);
  return it == cpus_.end() ? 0 : it->second.marked;
}

// The CPU's next event after a marker: the lost ones fell between its previous event and this.
void LineTranslator::place_lost(std::uint32_t cpu, std::uint64_t ts, std::string& out) {
  CpuLoss& c = cpus_[cpu];
  if (c.pending) {
    out +=
        probes::trace::lost_record(c.last_ts, ts, cpu, c.count, probes::trace::lost_cause::overrun);
    c.pending = false;
    c.count.reset();
  }
  c.last_ts = ts;
}

void LineTranslator::flush_lost(std::string& out) {
  for (auto& [cpu, c] : cpus_)
    if (c.pending) {
      out += probes::trace::lost_record(c.last_ts, std::nullopt, cpu, c.count,
                                        probes::trace::lost_cause::overrun);
      c.pending = false;
    }
}

// One line of C can have several addresses in one function (perf probes each): when a thread's
// previous record was another address of the same anchor with the same values, it is the same
// execution of the statement seen twice, not a second one. Otherwise the line becomes the
// thread's last record.
bool LineTranslator::seen_at_another_address(const TracefsLine& t, const EventInfo& info) {
  std::string_view values = t.rest.substr(std::min(t.rest.size(), t.rest.find(") ") + 2));
  LastRecord& last = last_[t.tid];
  const bool repeat = last.anchor == info.hits && last.event != t.event && last.values == values &&
                      !last.event.empty();
  if (repeat) { // `last` stays the first address: a loop over both addresses is A B A B
    ++repeats_;
    return true;
  }
  last.anchor = info.hits;
  last.event.assign(t.event);
  last.values.assign(values);
  return false;
}

// With sched.sleep planned: which threads are inside tpacket_snd, and the names of those that
// entered it.
void LineTranslator::track_sender(const TracefsLine& t, const EventInfo& info) {
  if (info.anchor == "snd.start") {
    in_snd_[t.tid] = true;
    if (sender_comms_.size() < kMaxSenderComms &&
        std::find(sender_comms_.begin(), sender_comms_.end(), t.comm) == sender_comms_.end())
      sender_comms_.emplace_back(t.comm);
  } else if (info.anchor == "snd.return")
    in_snd_[t.tid] = false;
}

bool LineTranslator::translate(std::string_view line, std::string& out) {
  if (note_lost_marker(line))
    return false;
  auto t = parse_tracefs_line(line);
  const auto ts = t ? record_ts(t->ts_ns) : std::nullopt;
  if (!ts) { // not a line, or a time the trace format cannot hold (fuzz_tracefs_lines)
    ++foreign_;
    return false;
  }
  place_lost(t->cpu, *ts, out);
  if (sleep_hits_ && t->event == sched_switch_event.substr(sched_switch_event.find('/') + 1))
    return translate_sched_switch(*t, *ts, out);
  auto it = events_.find(std::string(t->event));
  if (it == events_.end()) {
    ++foreign_;
    return false;
  }
  const EventInfo& info = it->second;
  if (seen_at_another_address(*t, info))
    return false;
  ++*info.hits;
  if (sleep_hits_)
    track_sender(*t, info);
  ++translated_;
  write_event_head(*t, *ts, out);
  out += ' ';
  out += info.anchor;
  append_values(t->rest, info.keys, info.unreadable, out);
  out += '\n';
  return true;
}

} // namespace harness::kprobe
