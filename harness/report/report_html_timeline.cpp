// The timeline of the HTML report (report_html_timeline.hpp): the lanes' marks and styles, the
// SVG timeline, the table of exact times, the groups past the lane limit and the anomaly links.
#include "harness/report/report_html_timeline.hpp"

#include "harness/report/phase_offsets_html.hpp"
#include "harness/report/text_util.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace harness::report {

std::string one_decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::uint64_t frame_latency(const FrameTimeline& f) {
  const std::uint64_t end =
      f.seen(Phase::available) ? f.at(Phase::available) : f.at(Phase::destruct);
  const std::uint64_t base = f.has_sender && f.sender.t_request_ns > 0
                                 ? static_cast<std::uint64_t>(f.sender.t_request_ns)
                                 : 0;
  return end != 0 && base != 0 && end >= base ? end - base : 0;
}

namespace {

using std::uint64_t;

// A mark on a lane: a kernel phase, or one of the sender's own times.
struct MarkStyle {
  const char* name;
  const char* colour;
  const char* shape; // "dot", "ring", "diamond", "tick"
};
constexpr std::array<MarkStyle, kPhaseCount> kPhaseStyle = {{
    {"SEND_REQUEST seen (tpacket_snd)", "#1f77b4", "dot"},
    {"SENDING", "#ff7f0e", "dot"},
    {"transmitted (tpacket_snd saw xmit return: may follow destructor)", "#9467bd", "dot"},
    {"destructor", "#8c564b", "dot"},
    {"AVAILABLE", "#2ca02c", "dot"},
}};
constexpr MarkStyle kSenderRequest{"sender: SEND_REQUEST set", "#555555", "diamond"};
constexpr MarkStyle kSenderSend{"sender: send() returned", "#555555", "tick"};
constexpr MarkStyle kSenderDone{"sender: saw AVAILABLE", "#2ca02c", "ring"};
constexpr MarkStyle kFinding{"anomaly in a tpacket_snd call", "#d62728", "diamond"};

const char* outcome_colour(Outcome o) {
  switch (o) {
  case Outcome::completed:
    return "#2ca02c";
  case Outcome::stuck:
    return "#d62728";
  case Outcome::not_seen:
    return "#d62728";
  case Outcome::unmatched:
    return "#7f7f7f";
  case Outcome::wrong_format:
    return "#d62728";
  case Outcome::discarded:
    return "#bcbd22";
  case Outcome::unobserved:
    return "#bbbbbb";
  }
  return "#000";
}

std::string lane_id(const FrameTimeline& f, std::size_t row) {
  return f.has_sender ? "frame-" + std::to_string(f.sender.seq) : "kframe-" + std::to_string(row);
}

uint64_t sender_time(std::int64_t t) {
  return t > 0 ? static_cast<uint64_t>(t) : 0;
}

// Every time a lane shows, sender's first.
std::vector<std::pair<uint64_t, const MarkStyle*>> marks_of(const FrameTimeline& f) {
  std::vector<std::pair<uint64_t, const MarkStyle*>> m;
  if (f.has_sender) {
    m.emplace_back(sender_time(f.sender.t_request_ns), &kSenderRequest);
    m.emplace_back(sender_time(f.sender.t_send_ns), &kSenderSend);
    m.emplace_back(sender_time(f.sender.t_done_ns), &kSenderDone);
  }
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    m.emplace_back(f.t[p], &kPhaseStyle[p]);
  std::erase_if(m, [](const auto& x) { return x.first == 0; });
  return m;
}

// The start of a frame's own clock: the sender setting SEND_REQUEST, else its first record.
uint64_t frame_base(const FrameTimeline& f) {
  if (f.has_sender && f.sender.t_request_ns > 0)
    return static_cast<uint64_t>(f.sender.t_request_ns);
  uint64_t base = 0;
  for (auto t : f.t)
    if (t != 0 && (base == 0 || t < base))
      base = t;
  return base;
}

// Axis ticks at 1, 2 or 5 x 10^k ns, about eight over the span.
uint64_t tick_step(uint64_t span) {
  uint64_t step = 1;
  for (;;) {
    for (uint64_t m : {1, 2, 5})
      if (span / (step * m) <= 8)
        return step * m;
    step *= 10;
  }
}

std::string mark_svg(const MarkStyle& s, double x, double y, const std::string& tip) {
  std::ostringstream o;
  const std::string title = "<title>" + html_escape(tip) + "</title>";
  if (std::string_view(s.shape) == "dot")
    o << "<circle cx=\"" << one_decimal(x) << "\" cy=\"" << one_decimal(y) << "\" r=\"4\" fill=\""
      << s.colour << "\">" << title << "</circle>";
  else if (std::string_view(s.shape) == "ring")
    o << "<circle cx=\"" << one_decimal(x) << "\" cy=\"" << one_decimal(y)
      << "\" r=\"6\" fill=\"none\" stroke=\"" << s.colour << "\" stroke-width=\"1.5\">" << title
      << "</circle>";
  else if (std::string_view(s.shape) == "diamond")
    o << "<path d=\"M" << one_decimal(x) << " " << one_decimal(y - 5)
      << "l5 5-5 5-5-5z\" fill=\"#fff\" stroke=\"" << s.colour << "\" stroke-width=\"1.5\">"
      << title << "</path>";
  else
    o << "<path d=\"M" << one_decimal(x) << " " << one_decimal(y - 7) << "v14\" stroke=\""
      << s.colour << "\" stroke-width=\"2\">" << title << "</path>";
  return o.str();
}

std::string legend() {
  std::ostringstream o;
  o << "<div class=\"legend\">";
  auto item = [&](const MarkStyle& s) {
    o << "<span><svg width=\"14\" height=\"16\">" << mark_svg(s, 7, 8, s.name) << "</svg>" << s.name
      << "</span>";
  };
  item(kSenderRequest);
  for (const auto& s : kPhaseStyle)
    item(s);
  item(kSenderSend);
  item(kSenderDone);
  item(kFinding);
  o << "</div>";
  return o.str();
}

// What a lane's tooltip says about the frame beyond its marks.
std::string lane_title(const FrameTimeline& f) {
  std::string t = f.has_sender ? "seq " + std::to_string(f.sender.seq) : "kernel-only frame";
  t += ", ring slot " + (f.index >= 0 ? std::to_string(f.index) : std::string("?"));
  if (f.ring)
    t += " of ring " + std::to_string(f.ring);
  if (f.has_kernel) {
    t += ", frame " + format_hex(f.addr) + ", po " + format_hex(f.po);
    t += ", slot from " + std::string(map_source_name(f.mapped_by));
    t += ", found in SEND_REQUEST " + std::to_string(f.request_seen_count) + "x";
    if (f.last_status != 0xffffffff)
      t += ", last status " + status_text(f.last_status);
  }
  if (f.status_backwards)
    t += ", status went backwards " + status_text(f.backwards_from) + " -> " +
         status_text(f.backwards_to);
  return t;
}

std::string offset_cell(uint64_t t, uint64_t base) {
  if (t == 0)
    return "<td>-</td>";
  if (base == 0)
    return "<td>?</td>";
  return "<td>" + std::string(t >= base ? "+" : "-") +
         format_duration(t >= base ? t - base : base - t) + "</td>";
}

// The lanes' exact times: each phase from the frame's own SEND_REQUEST.
std::string frame_table(const Report& r, std::size_t lanes, const std::vector<bool>& flagged) {
  std::ostringstream o;
  o << "<details" << (lanes <= 32 ? " open" : "") << "><summary>Exact times of these " << lanes
    << " frames (from each frame's SEND_REQUEST)</summary><table class=\"frames\"><tr><th>seq"
       "</th><th>slot</th><th>send() returned</th>";
  for (const auto* name : {"SEND_REQ seen", "SENDING", "xmit", "destructor", "AVAILABLE"})
    o << "<th>" << name << "</th>";
  o << "<th>sender saw AVAILABLE</th><th>latency</th><th>outcome</th></tr>";
  for (std::size_t i = 0; i < lanes; ++i) {
    const FrameTimeline& f = r.frames[i];
    const uint64_t base = frame_base(f);
    o << "<tr" << (flagged[i] ? " class=\"flag\"" : "") << "><td><a href=\"#" << lane_id(f, i)
      << "\">" << (f.has_sender ? std::to_string(f.sender.seq) : "-") << "</a></td><td>"
      << (f.index >= 0 ? std::to_string(f.index) : "?")
      << (f.mapped_by == MapSource::ring_order ? "*" : "") << "</td>"
      << offset_cell(f.has_sender ? sender_time(f.sender.t_send_ns) : 0, base);
    for (auto t : f.t)
      o << offset_cell(t, base);
    const uint64_t lat = frame_latency(f);
    o << offset_cell(f.has_sender ? sender_time(f.sender.t_done_ns) : 0, base) << "<td>"
      << (lat ? format_duration(lat) : "-") << "</td><td>" << outcome_name(f.outcome)
      << "</td></tr>";
  }
  o << "</table></details>";
  return o.str();
}

// Where a lane's marks sit: on one axis shared by all lanes (time since the first mark of any
// lane), or each lane from its own SEND_REQUEST (frame_base), so that the frames of a long run
// line up instead of turning into dots at the two ends of the shared axis (issue 30).
struct TimeAxis {
  bool aligned = false;
  uint64_t t0 = 0;             // the first mark of any lane (the shared axis' zero)
  std::int64_t lo = 0, hi = 1; // offsets the axis covers, ns (aligned: may start below 0)
  static constexpr double label_w = 250, plot_w = 680, right_w = 110, lane_h = 20, axis_h = 30;

  std::int64_t offset(const FrameTimeline& f, uint64_t t) const {
    return static_cast<std::int64_t>(t) - static_cast<std::int64_t>(aligned ? frame_base(f) : t0);
  }
  double x(std::int64_t off) const {
    return label_w + static_cast<double>(off - lo) * plot_w / static_cast<double>(hi - lo);
  }
};

// The times of the tpacket_snd lane (shared axis only): its calls' starts and ends.
std::vector<uint64_t> call_times(const Report& r) {
  std::vector<uint64_t> t;
  for (const auto& c : r.calls)
    for (uint64_t x : {c.start_ns, c.end_ns})
      if (x != 0)
        t.push_back(x);
  return t;
}

TimeAxis time_axis(const Report& r, std::size_t lanes, bool aligned) {
  TimeAxis a{.aligned = aligned};
  const std::vector<uint64_t> calls = aligned ? std::vector<uint64_t>{} : call_times(r);
  for (std::size_t i = 0; i < lanes; ++i)
    for (const auto& [t, style] : marks_of(r.frames[i]))
      a.t0 = a.t0 == 0 ? t : std::min(a.t0, t);
  for (uint64_t t : calls)
    a.t0 = a.t0 == 0 ? t : std::min(a.t0, t);
  bool first = true;
  auto cover = [&](std::int64_t off) {
    a.lo = first ? off : std::min(a.lo, off);
    a.hi = first ? off : std::max(a.hi, off);
    first = false;
  };
  for (std::size_t i = 0; i < lanes; ++i)
    for (const auto& [t, style] : marks_of(r.frames[i]))
      cover(a.offset(r.frames[i], t));
  for (uint64_t t : calls)
    cover(static_cast<std::int64_t>(t - a.t0));
  a.lo = std::min<std::int64_t>(a.lo, 0);
  a.hi = std::max(a.hi, a.lo + 1);
  return a;
}

// The column titles and the ticks, at 1, 2 or 5 x 10^k ns, with grid lines down every lane.
void axis_svg(std::ostringstream& o, const TimeAxis& a, double height) {
  o << "<g class=\"axis\"><text x=\"4\" y=\"14\">seq</text><text x=\"52\" y=\"14\">slot</text>"
       "<text x=\"96\" y=\"14\">outcome</text><text x=\""
    << one_decimal(a.label_w + a.plot_w + 36) << "\" y=\"14\">latency</text>";
  const auto step = static_cast<std::int64_t>(tick_step(static_cast<uint64_t>(a.hi - a.lo)));
  for (std::int64_t t = a.lo / step * step; t <= a.hi; t += step) {
    if (t < a.lo)
      continue;
    const double x = a.x(t);
    o << "<line x1=\"" << one_decimal(x) << "\" y1=\"" << one_decimal(a.axis_h - 6) << "\" x2=\""
      << one_decimal(x) << "\" y2=\"" << one_decimal(height) << "\" class=\"grid\"/><text x=\""
      << one_decimal(x) << "\" y=\"" << one_decimal(a.axis_h - 10) << "\" text-anchor=\"middle\">"
      << (t < 0 ? "-" : "+") << format_duration(static_cast<uint64_t>(t < 0 ? -t : t)) << "</text>";
  }
  o << "</g>";
}

// A lane's labels: sequence number, ring slot (* inferred from ring order), outcome.
void lane_labels(std::ostringstream& o, const FrameTimeline& f, double mid) {
  const std::string seq = f.has_sender ? std::to_string(f.sender.seq) : "";
  o << "<title>" << html_escape(lane_title(f)) << "</title>";
  o << "<text x=\"4\" y=\"" << one_decimal(mid + 4) << "\">" << (seq.empty() ? "-" : seq)
    << "</text><text x=\"52\" y=\"" << one_decimal(mid + 4) << "\">"
    << (f.index >= 0 ? std::to_string(f.index) : "?")
    << (f.mapped_by == MapSource::ring_order ? "*" : "") << "</text><text x=\"96\" y=\""
    << one_decimal(mid + 4) << "\" fill=\"" << outcome_colour(f.outcome) << "\">"
    << outcome_name(f.outcome) << (f.status_backwards ? ", status backwards" : "")
    << (f.xmit_err ? ", xmit " + html_escape(errno_value_text(f.xmit_err)) : "") << "</text>";
}

// A lane's span line and marks, each mark's tooltip with its time.
void lane_marks(std::ostringstream& o, const TimeAxis& a, const FrameTimeline& f, double mid) {
  auto marks = marks_of(f);
  if (!marks.empty()) {
    auto [lo, hi] = std::minmax_element(marks.begin(), marks.end());
    o << "<line x1=\"" << one_decimal(a.x(a.offset(f, lo->first))) << "\" y1=\"" << one_decimal(mid)
      << "\" x2=\"" << one_decimal(a.x(a.offset(f, hi->first))) << "\" y2=\"" << one_decimal(mid)
      << "\" class=\"span\"/>";
  }
  const uint64_t base = frame_base(f);
  for (const auto& [t, style] : marks) {
    std::string tip = std::string(style->name) + ": +" + format_duration(t - a.t0) + " on the axis";
    if (base && t >= base)
      tip += ", +" + format_duration(t - base) + " after SEND_REQUEST";
    o << mark_svg(*style, a.x(a.offset(f, t)), mid, tip);
  }
}

// The tpacket_snd lane over the frames' lanes (shared axis only): each call a bar from snd.start
// to snd.return (to the axis' end when its return was not seen), its waits (snd.wait) as orange
// ticks and its task's sleeps (sched.sleep) as red ones.
void calls_lane(std::ostringstream& o, const TimeAxis& a, const Report& r, double y, double width) {
  const double mid = y + a.lane_h / 2;
  o << "<g class=\"calls\"><rect x=\"0\" y=\"" << one_decimal(y) << "\" width=\""
    << one_decimal(width) << "\" height=\"" << one_decimal(a.lane_h)
    << "\" class=\"bg-odd\"/><text x=\"4\" y=\"" << one_decimal(mid + 4) << "\">tpacket_snd ("
    << r.calls.size() << (r.calls.size() == 1 ? " call" : " calls") << ")</text>";
  auto x = [&](uint64_t t) {
    return a.x(static_cast<std::int64_t>(t - a.t0));
  };
  for (const auto& c : r.calls) {
    const double x0 = x(c.start_ns), x1 = c.end_ns ? x(c.end_ns) : a.label_w + a.plot_w;
    std::string tip = "tpacket_snd, task " + std::to_string(c.tid) + ": +" +
                      format_duration(c.start_ns - a.t0) + ", " +
                      (c.end_ns ? "took " + format_duration(c.end_ns - c.start_ns)
                                : std::string("its return was not seen"));
    if (c.ret)
      tip += ", returned " + std::to_string(*c.ret);
    tip += ", " + std::to_string(c.waits_ns.size()) + " waits, " +
           std::to_string(c.sleeps_ns.size()) + " sleeps";
    o << "<rect x=\"" << one_decimal(x0) << "\" y=\"" << one_decimal(mid - 4) << "\" width=\""
      << one_decimal(std::max(x1 - x0, 2.0)) << "\" height=\"8\" fill=\"#6baed6\""
      << (c.end_ns ? "" : " fill-opacity=\"0.4\"") << "><title>" << html_escape(tip)
      << "</title></rect>";
    for (const auto* marks : {&c.waits_ns, &c.sleeps_ns})
      for (uint64_t t : *marks)
        o << "<path d=\"M" << one_decimal(x(t)) << " " << one_decimal(mid - 7) << "v14\" stroke=\""
          << (marks == &c.waits_ns ? "#ff7f0e" : "#d62728") << "\" stroke-width=\"2\"><title>"
          << (marks == &c.waits_ns ? "snd.wait" : "sched.sleep") << ": +"
          << format_duration(t - a.t0) << "</title></path>";
    for (const auto& [t, what] : c.findings)
      o << mark_svg(kFinding, x(t), mid,
                    "anomaly: " + std::string(what) + ": +" + format_duration(t - a.t0));
  }
  o << "</g>";
}

// One lane per frame (the first `lanes` rows). Shared axis: the lanes are the targets of the
// anomaly links (id, data-seq); aligned: the same lanes, ids prefixed "a-".
std::string timeline_svg(const Report& r, std::size_t lanes, const std::vector<bool>& flagged,
                         bool aligned) {
  const TimeAxis a = time_axis(r, lanes, aligned);
  const bool with_calls = !aligned && !r.calls.empty();
  const double top = a.axis_h + (with_calls ? a.lane_h : 0); // the first frame lane
  const double width = a.label_w + a.plot_w + a.right_w + 10;
  const double height = top + a.lane_h * static_cast<double>(lanes) + 6;
  std::ostringstream o;
  o << "<svg class=\"timeline\" width=\"" << one_decimal(width) << "\" height=\""
    << one_decimal(height) << "\" viewBox=\"0 0 " << one_decimal(width) << " "
    << one_decimal(height) << "\" role=\"img\" aria-label=\"frame timeline"
    << (aligned ? ", each frame from its SEND_REQUEST" : "") << "\">";
  axis_svg(o, a, height);
  if (with_calls)
    calls_lane(o, a, r, a.axis_h, width);
  for (std::size_t i = 0; i < lanes; ++i) {
    const FrameTimeline& f = r.frames[i];
    const double y = top + a.lane_h * static_cast<double>(i);
    if (aligned)
      o << "<g class=\"aligned lane" << (flagged[i] ? " flagged" : "") << "\" id=\"a-"
        << lane_id(f, i) << "\">";
    else
      o << "<g class=\"lane" << (flagged[i] ? " flagged" : "") << "\" id=\"" << lane_id(f, i)
        << "\" data-seq=\"" << (f.has_sender ? std::to_string(f.sender.seq) : "")
        << "\" data-index=\"" << f.index << "\" data-outcome=\"" << outcome_name(f.outcome)
        << "\">";
    o << "<rect x=\"0\" y=\"" << one_decimal(y) << "\" width=\"" << one_decimal(width)
      << "\" height=\"" << one_decimal(a.lane_h) << "\" class=\""
      << (flagged[i] ? "bg-flag"
          : i % 2    ? "bg-odd"
                     : "bg-even")
      << "\"/>";
    lane_labels(o, f, y + a.lane_h / 2);
    lane_marks(o, a, f, y + a.lane_h / 2);
    const uint64_t lat = frame_latency(f);
    o << "<text x=\"" << one_decimal(a.label_w + a.plot_w + 36) << "\" y=\""
      << one_decimal(y + a.lane_h / 2 + 4) << "\">" << (lat ? format_duration(lat) : "-")
      << "</text></g>";
  }
  o << "</svg>";
  return o.str();
}

} // namespace

std::string anomaly_links(const Report& r, const Anomaly& a, std::size_t lanes) {
  std::ostringstream o;
  for (auto seq : a.seqs) {
    auto it = std::find_if(r.frames.begin(), r.frames.begin() + static_cast<long>(lanes),
                           [&](const auto& f) { return f.has_sender && f.sender.seq == seq; });
    if (it != r.frames.begin() + static_cast<long>(lanes))
      o << "<a href=\"#frame-" << seq << "\">seq " << seq << "</a> ";
    else
      o << "seq " << seq << " ";
  }
  for (auto idx : a.indices) {
    std::size_t row = 0;
    while (row < lanes && (r.frames[row].has_sender || r.frames[row].index != idx))
      ++row;
    if (row < lanes)
      o << "<a href=\"#kframe-" << row << "\">slot " << idx << "</a> ";
    else
      o << "slot " << idx << " ";
  }
  const std::size_t named = a.seqs.size() + a.indices.size();
  if (a.count > named && named > 0)
    o << "(and " << a.count - named << " more)";
  return o.str();
}

bool anomaly_names(const Anomaly& a, const FrameTimeline& f) {
  if (f.has_sender)
    return std::find(a.seqs.begin(), a.seqs.end(), f.sender.seq) != a.seqs.end();
  return std::find(a.indices.begin(), a.indices.end(), f.index) != a.indices.end();
}

void timeline_section(std::ostringstream& o, const Report& r, const HtmlOptions& opt,
                      const std::vector<bool>& flagged, std::size_t lanes) {
  o << "<h2 id=\"timeline\">Timeline</h2>";
  if (r.frames.empty()) {
    o << "<p>No frames: neither the sender's records nor the trace name a frame.</p>";
    return;
  }
  o << "<p class=\"note\">One lane per frame, in sequence order; all lanes share the time axis "
       "(from the first mark of any lane), or, switched below, each lane starts at its own "
       "SEND_REQUEST (a long run's frames line up). On the shared axis the top lane shows the "
       "tpacket_snd calls (bars), their waits (orange), their tasks' sleeps (red) and the "
       "anomalies found in them (red diamonds). Slot = ring "
       "index (* inferred from ring "
       "order). "
       "Hover a mark for its time; anomalous frames are shaded red.";
  if (lanes < r.frames.size())
    o << " <b>Showing lanes for the first " << lanes << " of " << r.frames_total
      << " frames (lane limit " << opt.max_lanes
      << "); the others are summarised in <a href=\"#aggregate\">groups</a> below.</b>";
  // Two views of the same lanes, switched by CSS alone (report_html.cpp's style): the page
  // needs no script.
  o << "</p>" << legend()
    << "<div class=\"views\"><input type=\"radio\" name=\"axis\" "
       "id=\"axis-shared\" checked><label for=\"axis-shared\">one time axis</label> "
       "<input type=\"radio\" name=\"axis\" id=\"axis-aligned\"><label for=\"axis-aligned\">"
       "each frame from its SEND_REQUEST</label><div class=\"scroll tl-shared\">"
    << timeline_svg(r, lanes, flagged, false) << "</div><div class=\"scroll tl-aligned\">"
    << timeline_svg(r, lanes, flagged, true) << "</div></div>" << frame_table(r, lanes, flagged);
  if (auto offsets = phase_offsets_svg(r); !offsets.empty())
    o << "<h2 id=\"offsets\">Phases after SEND_REQUEST, all " << r.frames.size()
      << " frames</h2><p class=\"note\">Each kernel phase's time after the sender set the "
         "frame to SEND_REQUEST, in log-scaled bins (darker: more frames; black bar: median; "
         "hover a bin for its count).</p><div class=\"scroll\">"
      << offsets << "</div>";
  if (lanes < r.frames.size()) {
    o << "<h2 id=\"aggregate\">Frames " << lanes << " and later, in groups</h2>"
      << aggregate_table(r, lanes);
  }
  if (r.frames_total > r.frames.size())
    o << "<p class=\"note\"><b>" << r.frames_total - r.frames.size()
      << " further frames</b> are counted in the summary but have no per-frame record in the "
         "report (its row limit is "
      << r.frames.size() << ").</p>";
}

} // namespace harness::report
