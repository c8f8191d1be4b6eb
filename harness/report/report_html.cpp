#include "harness/report/report_html.hpp"

#include "base/files.hpp"
#include "harness/report/phase_offsets_html.hpp"
#include "harness/report/text_util.hpp"
#include "harness/report/workload.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace harness::report {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
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
    {"transmitted (xmit)", "#9467bd", "dot"},
    {"destructor", "#8c564b", "dot"},
    {"AVAILABLE", "#2ca02c", "dot"},
}};
constexpr MarkStyle kSenderRequest{"sender: SEND_REQUEST set", "#555555", "diamond"};
constexpr MarkStyle kSenderSend{"sender: send() returned", "#555555", "tick"};
constexpr MarkStyle kSenderDone{"sender: saw AVAILABLE", "#2ca02c", "ring"};

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

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
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

// The frame's end-to-end latency (SEND_REQUEST -> AVAILABLE, else destructor), 0 = unknown.
uint64_t frame_latency(const FrameTimeline& f) {
  const uint64_t end = f.seen(Phase::available) ? f.at(Phase::available) : f.at(Phase::destruct);
  const uint64_t base = f.has_sender ? sender_time(f.sender.t_request_ns) : 0;
  return end != 0 && base != 0 && end >= base ? end - base : 0;
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
    o << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"4\" fill=\"" << s.colour
      << "\">" << title << "</circle>";
  else if (std::string_view(s.shape) == "ring")
    o << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"6\" fill=\"none\" stroke=\""
      << s.colour << "\" stroke-width=\"1.5\">" << title << "</circle>";
  else if (std::string_view(s.shape) == "diamond")
    o << "<path d=\"M" << num(x) << " " << num(y - 5) << "l5 5-5 5-5-5z\" fill=\"#fff\" stroke=\""
      << s.colour << "\" stroke-width=\"1.5\">" << title << "</path>";
  else
    o << "<path d=\"M" << num(x) << " " << num(y - 7) << "v14\" stroke=\"" << s.colour
      << "\" stroke-width=\"2\">" << title << "</path>";
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

// One lane per frame (the first `lanes` rows), marks on the axis shared by all of them.
std::string timeline_svg(const Report& r, std::size_t lanes, const std::vector<bool>& flagged) {
  constexpr double label_w = 250, plot_w = 680, right_w = 110, lane_h = 20, axis_h = 30;
  uint64_t t0 = 0, t1 = 0;
  for (std::size_t i = 0; i < lanes; ++i)
    for (const auto& [t, style] : marks_of(r.frames[i])) {
      t0 = t0 == 0 ? t : std::min(t0, t);
      t1 = std::max(t1, t);
    }
  const uint64_t span = std::max<uint64_t>(t1 - t0, 1);
  auto xof = [&](uint64_t t) {
    return label_w + static_cast<double>(t - t0) * plot_w / static_cast<double>(span);
  };
  const double width = label_w + plot_w + right_w + 10;
  const double height = axis_h + lane_h * static_cast<double>(lanes) + 6;
  std::ostringstream o;
  o << "<svg class=\"timeline\" width=\"" << num(width) << "\" height=\"" << num(height)
    << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
    << "\" role=\"img\" aria-label=\"frame timeline\">";
  // The axis: time since the first mark of any lane.
  o << "<g class=\"axis\"><text x=\"4\" y=\"14\">seq</text><text x=\"52\" y=\"14\">slot</text>"
       "<text x=\"96\" y=\"14\">outcome</text><text x=\""
    << num(label_w + plot_w + 36) << "\" y=\"14\">latency</text>";
  const uint64_t step = tick_step(span);
  for (uint64_t t = 0; t <= span; t += step) {
    const double x = xof(t0 + t);
    o << "<line x1=\"" << num(x) << "\" y1=\"" << num(axis_h - 6) << "\" x2=\"" << num(x)
      << "\" y2=\"" << num(height) << "\" class=\"grid\"/><text x=\"" << num(x) << "\" y=\""
      << num(axis_h - 10) << "\" text-anchor=\"middle\">+" << format_duration(t) << "</text>";
  }
  o << "</g>";
  for (std::size_t i = 0; i < lanes; ++i) {
    const FrameTimeline& f = r.frames[i];
    const double y = axis_h + lane_h * static_cast<double>(i);
    const double mid = y + lane_h / 2;
    const std::string seq = f.has_sender ? std::to_string(f.sender.seq) : "";
    o << "<g class=\"lane" << (flagged[i] ? " flagged" : "") << "\" id=\"" << lane_id(f, i)
      << "\" data-seq=\"" << seq << "\" data-index=\"" << f.index << "\" data-outcome=\""
      << outcome_name(f.outcome) << "\">";
    o << "<rect x=\"0\" y=\"" << num(y) << "\" width=\"" << num(width) << "\" height=\""
      << num(lane_h) << "\" class=\""
      << (flagged[i] ? "bg-flag"
          : i % 2    ? "bg-odd"
                     : "bg-even")
      << "\"/>";
    o << "<title>" << html_escape(lane_title(f)) << "</title>";
    o << "<text x=\"4\" y=\"" << num(mid + 4) << "\">" << (seq.empty() ? "-" : seq)
      << "</text><text x=\"52\" y=\"" << num(mid + 4) << "\">"
      << (f.index >= 0 ? std::to_string(f.index) : "?")
      << (f.mapped_by == MapSource::ring_order ? "*" : "") << "</text><text x=\"96\" y=\""
      << num(mid + 4) << "\" fill=\"" << outcome_colour(f.outcome) << "\">"
      << outcome_name(f.outcome) << (f.status_backwards ? ", status backwards" : "")
      << (f.xmit_err ? ", xmit " + html_escape(errno_value_text(f.xmit_err)) : "") << "</text>";
    auto marks = marks_of(f);
    if (!marks.empty()) {
      auto [lo, hi] = std::minmax_element(marks.begin(), marks.end());
      o << "<line x1=\"" << num(xof(lo->first)) << "\" y1=\"" << num(mid) << "\" x2=\""
        << num(xof(hi->first)) << "\" y2=\"" << num(mid) << "\" class=\"span\"/>";
    }
    const uint64_t base = frame_base(f);
    for (const auto& [t, style] : marks) {
      std::string tip = std::string(style->name) + ": +" + format_duration(t - t0) + " on the axis";
      if (base && t >= base)
        tip += ", +" + format_duration(t - base) + " after SEND_REQUEST";
      o << mark_svg(*style, xof(t), mid, tip);
    }
    const uint64_t lat = frame_latency(f);
    o << "<text x=\"" << num(label_w + plot_w + 36) << "\" y=\"" << num(mid + 4) << "\">"
      << (lat ? format_duration(lat) : "-") << "</text></g>";
  }
  o << "</svg>";
  return o.str();
}

// Frames past the lane limit: groups of consecutive rows, each with outcome counts and the
// spread of its latencies.
std::string aggregate_table(const Report& r, std::size_t from) {
  const std::size_t rest = r.frames.size() - from;
  const std::size_t groups = std::min<std::size_t>(rest, 100);
  const std::size_t per = (rest + groups - 1) / groups;
  uint64_t worst = 1;
  for (std::size_t i = from; i < r.frames.size(); ++i)
    worst = std::max(worst, frame_latency(r.frames[i]));
  std::ostringstream o;
  o << "<table class=\"agg\"><tr><th>rows</th><th>seq</th><th>slots</th><th>completed</th>"
       "<th>other outcomes</th><th>latency min / median / max</th><th></th></tr>";
  for (std::size_t g = from; g < r.frames.size(); g += per) {
    const std::size_t end = std::min(g + per, r.frames.size());
    std::vector<uint64_t> lat;
    std::map<std::string, uint64_t> other;
    uint64_t done = 0;
    std::int64_t lo_idx = -1, hi_idx = -1;
    for (std::size_t i = g; i < end; ++i) {
      const auto& f = r.frames[i];
      if (auto l = frame_latency(f))
        lat.push_back(l);
      if (f.outcome == Outcome::completed)
        ++done;
      else
        ++other[std::string(outcome_name(f.outcome))];
      if (f.index >= 0) {
        lo_idx = lo_idx < 0 ? f.index : std::min(lo_idx, f.index);
        hi_idx = std::max(hi_idx, f.index);
      }
    }
    std::sort(lat.begin(), lat.end());
    const auto& first = r.frames[g];
    const auto& last = r.frames[end - 1];
    o << "<tr" << (other.empty() ? "" : " class=\"flag\"") << "><td>" << g << "-" << end - 1
      << "</td><td>" << (first.has_sender ? std::to_string(first.sender.seq) : "-") << "-"
      << (last.has_sender ? std::to_string(last.sender.seq) : "-") << "</td><td>"
      << (lo_idx < 0 ? "?" : std::to_string(lo_idx) + "-" + std::to_string(hi_idx)) << "</td><td>"
      << done << "</td><td>";
    for (const auto& [name, n] : other)
      o << name << " " << n << " ";
    o << "</td><td>";
    if (lat.empty())
      o << "-</td><td></td>";
    else {
      const double scale = 300.0 / static_cast<double>(worst);
      o << format_duration(lat.front()) << " / " << format_duration(lat[lat.size() / 2]) << " / "
        << format_duration(lat.back()) << "</td><td><svg width=\"310\" height=\"12\">"
        << "<rect x=\"" << num(static_cast<double>(lat.front()) * scale) << "\" y=\"3\" width=\""
        << num(std::max(1.0, static_cast<double>(lat.back() - lat.front()) * scale))
        << "\" height=\"6\" fill=\"#9ecae1\"/><rect x=\""
        << num(static_cast<double>(lat[lat.size() / 2]) * scale)
        << "\" y=\"1\" width=\"2\" height=\"10\" fill=\"#08519c\"/></svg></td>";
    }
    o << "</tr>";
  }
  o << "</table>";
  return o.str();
}

// Links to the lanes of the frames an anomaly names (by seq, or by ring slot for kernel-only
// frames); frames without a lane are named as text.
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

std::string percentiles_cells(const Percentiles& p) {
  if (p.count == 0)
    return "<td colspan=\"5\">n/a (no frame shows both ends)</td>";
  std::string s;
  for (auto v : {p.p50, p.p90, p.p99, p.max})
    s += "<td>" + format_duration(v) + "</td>";
  return s + "<td>" + std::to_string(p.count) + "</td>";
}

void head(std::ostringstream& o, const Report& r) {
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width\">"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'; img-src data:\">"
    << "<title>harness report"
    << (r.run.kernel.empty() ? "" : ": kernel " + html_escape(r.run.kernel))
    << "</title><style>"
       "body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222;max-width:1100px}"
       "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px;"
       "border-bottom:1px solid #ccc}"
       "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;text-align:left;"
       "border-bottom:1px solid #eee;vertical-align:top}th{background:#f3f3f3}"
       "code,.mono,svg text{font-family:ui-monospace,monospace}svg text{font-size:11px}"
       ".verdict{font-size:16px;font-weight:600;padding:6px 10px;display:inline-block;"
       "border-radius:4px}.ok{background:#e5f5e0;color:#14571b}.bad{background:#fde0dd;"
       "color:#8b0000}.partial{background:#fff3cd;padding:6px 10px}"
       ".meta{color:#555}.grid{stroke:#e4e4e4}.axis text{fill:#555}"
       ".span{stroke:#bbb;stroke-width:2}.bg-even{fill:#fff}.bg-odd{fill:#f7f7f7}"
       ".bg-flag{fill:#fde0dd}.lane:target .bg-even,.lane:target .bg-odd,.lane:target .bg-flag"
       "{fill:#fff3a0}tr.flag td{background:#fdecea}.note{color:#555;font-size:13px}"
       ".scroll{overflow-x:auto}details{margin:8px 0}summary{cursor:pointer;color:#08519c}"
       "table.frames td{font-family:ui-monospace,monospace;font-size:12px;text-align:right;"
       "white-space:nowrap}"
       ".legend{font-size:12px;display:flex;flex-wrap:wrap;gap:4px 14px;"
       "margin:4px 0}.legend span{display:inline-flex;align-items:center;gap:3px}"
       "</style></head><body>\n";
}

// `run --exec`: the program, how it ended, the last lines it printed.
void workload_meta(std::ostringstream& o, const WorkloadInfo& w) {
  std::string cmd;
  for (const auto& a : w.argv)
    cmd += (cmd.empty() ? "" : " ") + a;
  o << "<br>workload <code>" << html_escape(cmd) << "</code> (pid " << w.pid << "): <b>"
    << html_escape(workload_end_text(w)) << "</b>";
  for (const auto& [name, tail] :
       {std::pair{"stdout", &w.stdout_tail}, std::pair{"stderr", &w.stderr_tail}}) {
    if (tail->empty())
      continue;
    std::string text;
    for (const auto& l : *tail)
      text += l + "\n";
    o << "<br>" << name << " (last lines):<pre>" << html_escape(text) << "</pre>";
  }
}

void header(std::ostringstream& o, const Report& r) {
  o << "<h1>harness report" << (r.run.kernel.empty() ? "" : ": kernel " + html_escape(r.run.kernel))
    << "</h1><div class=\"meta\">";
  if (!r.run.probes.empty())
    o << "probes <b>" << html_escape(r.run.probes) << "</b>";
  if (!r.run.plan_id.empty())
    o << " (plan " << html_escape(r.run.plan_id) << ")";
  if (!r.run.map.empty())
    o << ", map " << html_escape(r.run.map);
  o << "<br>";
  if (r.run.tpacket)
    o << "TPACKET_V" << r.run.tpacket << " ";
  if (!r.run.socket.empty())
    o << html_escape(r.run.socket) << " socket ";
  if (!r.run.iface.empty())
    o << "on <b>" << html_escape(r.run.iface) << "</b>, ";
  if (r.run.ring_frames)
    o << "ring " << r.run.ring_frames << " frames x " << r.run.frame_size << " bytes"
      << (r.run.rings > 1 ? " (" + std::to_string(r.run.rings) + " rings)" : "");
  if (r.workload)
    workload_meta(o, *r.workload);
  if (!r.run.run_dir.empty())
    o << "<br>files: <code>" << html_escape(r.run.run_dir) << "</code>";
  o << "</div>";
  const bool ok = r.exit_code() == 0;
  const std::size_t regressions = r.comparison ? r.comparison->regressions.size() : 0;
  if (r.verdict() == "incomplete") {
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%%", 100.0 * r.loss.observed_share());
    o << "<p><span class=\"verdict partial\">Incomplete: the tracer lost records; " << share
      << " of frames fully observed, no anomaly in them</span> <a href=\"#lost\">lost "
         "records</a></p>";
  } else {
    o << "<p><span class=\"verdict " << (ok ? "ok\">OK: every frame accounted for" : "bad\">")
      << (ok ? ""
             : plural(r.anomalies.size(), "anomaly", "anomalies") +
                   (regressions ? ", " + plural(regressions, "regression", "regressions") : ""))
      << "</span></p>";
  }
  if (r.partial)
    o << "<p class=\"partial\"><b>Partial report:</b> "
      << html_escape(r.partial_reason.empty() ? "the run did not finish" : r.partial_reason)
      << "</p>";
}

void summary(std::ostringstream& o, const Report& r) {
  const Summary& s = r.summary;
  o << "<h2>Summary</h2><table><tr><th>frames</th><td>";
  if (s.requested || s.queued)
    o << s.requested << " requested, " << s.queued << " queued, " << s.sent << " sent (sender); ";
  o << s.completed << " completed";
  for (auto [n, what] : {std::pair{s.stuck, "stuck"},
                         {s.not_seen, "never taken by the kernel"},
                         {s.unmatched, "unmatched"},
                         {s.wrong_format, "WRONG_FORMAT"},
                         {s.discarded, "discarded"}})
    if (n)
      o << ", <b>" << n << " " << what << "</b>";
  o << "</td></tr><tr><th>tpacket_snd</th><td>" << plural(s.snd_calls, "call", "calls") << ", "
    << plural(s.waits, "wait loop", "wait loops");
  if (s.waits_dontwait)
    o << " (" << s.waits_dontwait << " with MSG_DONTWAIT)";
  if (s.blocked_calls)
    o << ", <b>" << s.blocked_calls << " blocked with MSG_DONTWAIT</b>";
  o << "; errors returned: ";
  if (s.errors.empty())
    o << "none";
  for (const auto& [err, n] : s.errors)
    o << html_escape(errno_value_text(err)) << " x" << n << " ";
  if (s.max_pending)
    o << "; max pending " << *s.max_pending;
  o << "</td></tr></table>";
  const char* end =
      r.phases[static_cast<std::size_t>(Phase::available)].observed ? "AVAILABLE" : "destructor";
  o << "<p></p><table><tr><th>latency</th><th>p50</th><th>p90</th><th>p99</th><th>max</th>"
       "<th>frames</th></tr><tr><td>SEND_REQUEST &rarr; "
    << end << "</td>" << percentiles_cells(s.latency) << "</tr><tr><td>kernel hold SENDING &rarr; "
    << end << "</td>" << percentiles_cells(s.kernel_hold)
    << "</tr><tr><td>pickup SEND_REQUEST &rarr; tpacket_snd</td>" << percentiles_cells(s.pickup)
    << "</tr></table>";
}

void timeline(std::ostringstream& o, const Report& r, const HtmlOptions& opt,
              std::vector<bool>& flagged, std::size_t lanes) {
  o << "<h2 id=\"timeline\">Timeline</h2>";
  if (r.frames.empty()) {
    o << "<p>No frames: neither the sender's records nor the trace name a frame.</p>";
    return;
  }
  o << "<p class=\"note\">One lane per frame, in sequence order; all lanes share the time axis "
       "(from the first mark of any lane). Slot = ring index (* inferred from ring order). "
       "Hover a mark for its time; anomalous frames are shaded red.";
  if (lanes < r.frames.size())
    o << " <b>Showing lanes for the first " << lanes << " of " << r.frames_total
      << " frames (lane limit " << opt.max_lanes
      << "); the others are summarised in <a href=\"#aggregate\">groups</a> below.</b>";
  o << "</p>" << legend() << "<div class=\"scroll\">" << timeline_svg(r, lanes, flagged) << "</div>"
    << frame_table(r, lanes, flagged);
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

void anomalies(std::ostringstream& o, const Report& r, std::size_t lanes) {
  o << "<h2 id=\"anomalies\">Anomalies (" << r.anomalies.size() << ")</h2>";
  if (r.anomalies.empty()) {
    o << "<p>None.</p>";
    return;
  }
  o << "<table><tr><th>kind</th><th>what</th><th>frames</th></tr>";
  for (const auto& a : r.anomalies) {
    o << "<tr class=\"flag\"><td><code>" << html_escape(a.kind) << "</code></td><td>"
      << html_escape(a.message);
    if (!a.anchor.empty())
      o << " <span class=\"note\">(anchor <code>" << html_escape(a.anchor) << "</code>"
        << (a.line ? ", line " + std::to_string(a.line) : "") << ")</span>";
    if (!a.not_from_loss.empty())
      o << "<br><span class=\"note\">not from lost records: " << html_escape(a.not_from_loss)
        << "</span>";
    o << "</td><td>" << anomaly_links(r, a, lanes) << "</td></tr>";
  }
  o << "</table>";
}

// What the tracer lost (docs/report-schema.md "loss").
void lost_records(std::ostringstream& o, const LossInfo& l) {
  if (!l.any)
    return;
  o << "<h2 id=\"lost\">Lost records</h2><table><tr><th>lost</th><td>"
    << (l.records ? plural(l.records, "record", "records") : std::string("records"))
    << (l.uncounted ? " (and some the tracer could not count)" : "");
  for (const auto& [cause, n] : l.by_cause)
    o << "; " << html_escape(cause) << " " << n;
  o << "</td></tr><tr><th>windows</th><td>" << l.windows << ", covering "
    << format_duration(l.covered_ns) << " of the trace</td></tr><tr><th>frames</th><td>"
    << l.frames_observed << " fully observed, " << l.frames_unobserved
    << " unobserved (not judged)</td></tr><tr><th>calls</th><td>" << l.calls_unjudged
    << " findings not made: their records may be lost</td></tr></table>";
}

void phases(std::ostringstream& o, const Report& r) {
  o << "<h2>Phases</h2><table><tr><th>phase</th><th>frames</th><th>note</th></tr>";
  for (const auto& p : r.phases) {
    o << "<tr" << (p.expected && (!p.observed || p.missing) ? " class=\"flag\"" : "") << "><td>"
      << phase_title(p.phase) << "</td>";
    if (!p.expected && !p.observed)
      o << "<td>-</td><td>not probed</td></tr>";
    else
      o << "<td>" << p.frames << "</td><td>" << (p.observed ? "" : "never observed")
        << (p.missing ? std::string(p.observed ? "" : "; ") + std::to_string(p.missing) +
                            " completed frames without it"
                      : "")
        << "</td></tr>";
  }
  o << "</table>";
}

void probes(std::ostringstream& o, const Report& r) {
  o << "<h2>Probes</h2>";
  if (r.probes.empty()) {
    o << "<p>No probe information (no plan and no hit counts).</p>";
    return;
  }
  o << "<table><tr><th>anchor</th><th>function</th><th>line</th><th>statement</th>"
       "<th>records</th><th>hits</th><th>note</th></tr>";
  for (const auto& p : r.probes) {
    std::string note;
    if (p.expect == Expect::other_version || (p.fired() == 0 && p.expect == Expect::conditional))
      note = p.when;
    if (!p.planned)
      note += (note.empty() ? "" : "; ") + std::string("not in the plan");
    if (p.unreadable)
      note += (note.empty() ? "" : "; ") + std::to_string(p.unreadable) + " unreadable";
    const bool silent = p.planned && p.fired() == 0 && p.expect == Expect::always;
    o << "<tr" << (silent ? " class=\"flag\"" : "") << "><td><code>" << html_escape(p.anchor)
      << "</code></td><td><code>" << html_escape(p.function) << "</code></td><td>"
      << (p.line ? std::to_string(p.line) : "-") << "</td><td><code>" << html_escape(p.statement)
      << "</code></td><td>" << p.events << "</td><td>" << (p.hits ? std::to_string(*p.hits) : "-")
      << "</td><td>" << html_escape(note) << "</td></tr>";
  }
  o << "</table>";
}

void comparison(std::ostringstream& o, const Report& r) {
  if (!r.comparison)
    return;
  const auto& c = *r.comparison;
  o << "<h2 id=\"baseline\">Baseline comparison</h2><p>with <code>" << html_escape(c.baseline_file)
    << "</code>, latency tolerance " << num(c.tolerance * 100) << "%: "
    << (c.regressions.empty() ? "no regression"
                              : plural(c.regressions.size(), "regression", "regressions"))
    << "</p>";
  if (!c.regressions.empty()) {
    o << "<table><tr><th>what</th><th>baseline</th><th>now</th><th>why</th></tr>";
    for (const auto& g : c.regressions)
      o << "<tr class=\"flag\"><td>" << html_escape(g.what) << "</td><td>"
        << html_escape(g.baseline) << "</td><td>" << html_escape(g.current) << "</td><td>"
        << html_escape(g.message) << "</td></tr>";
    o << "</table>";
  }
  if (!c.notes.empty()) {
    o << "<ul>";
    for (const auto& n : c.notes)
      o << "<li>" << html_escape(n) << "</li>";
    o << "</ul>";
  }
}

void trailer(std::ostringstream& o, const Report& r) {
  if (!r.notes.empty()) {
    o << "<h2>Notes</h2><ul>";
    for (const auto& n : r.notes)
      o << "<li>" << html_escape(n) << "</li>";
    o << "</ul>";
  }
  const TraceInfo& t = r.trace;
  o << "<h2>Trace</h2><p class=\"note\">" << t.lines << " lines, " << t.records << " records ("
    << t.events << " events), " << t.other_lines << " other lines, " << t.malformed
    << " malformed; READY " << (t.ready ? "seen" : "<b>not seen</b>") << ", END "
    << (t.end ? "seen" : "<b>not seen</b>");
  if (t.reordered || t.late)
    o << "; " << t.reordered << " reordered, " << t.late << " too late to reorder";
  o << "</p><p class=\"note\">harness " << html_escape(r.harness_version) << ", "
    << html_escape(r.schema) << ". This page is self-contained: no scripts, no external requests."
    << "</p></body></html>\n";
}

} // namespace

std::string format_report_html(const Report& r, const HtmlOptions& options) {
  const std::size_t lanes = std::min(options.max_lanes, r.frames.size());
  std::vector<bool> flagged(lanes, false);
  for (std::size_t i = 0; i < lanes; ++i)
    for (const auto& a : r.anomalies)
      if (anomaly_names(a, r.frames[i]))
        flagged[i] = true;
  std::ostringstream o;
  head(o, r);
  header(o, r);
  summary(o, r);
  timeline(o, r, options, flagged, lanes);
  anomalies(o, r, lanes);
  lost_records(o, r.loss);
  phases(o, r);
  probes(o, r);
  comparison(o, r);
  trailer(o, r);
  return o.str();
}

Status write_report_html(const Report& r, const std::string& path, const HtmlOptions& options) {
  return write_file_atomic(path, format_report_html(r, options));
}

} // namespace harness::report
