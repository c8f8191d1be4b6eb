// The report as one HTML page (report_html.hpp): its head and style, the run and verdict, the
// summary, anomaly, loss, phase, probe and baseline sections; the timeline is
// report_html_timeline.cpp.
#include "harness/report/report_html.hpp"

#include "base/files.hpp"
#include "harness/report/report_html_timeline.hpp"
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
       "{fill:#fff3a0}tr.flag "
       "td{background:#fdecea}.note{color:#555;font-size:13px}ul.evidence{margin:4px 0 0 "
       "0;padding-left:18px;font-size:13px}"
       ".scroll{overflow-x:auto}.tl-aligned,#axis-aligned:checked~.tl-shared{display:none}"
       "#axis-aligned:checked~.tl-aligned{display:block}.views label{font-size:13px}"
       "details{margin:8px 0}summary{cursor:pointer;color:#08519c}"
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

// The records an anomaly rests on (docs/report-schema.md `evidence`), as the text report lists
// them: the page people share shows what the finding stands on, not only its anchor.
void evidence_list(std::ostringstream& o, const Anomaly& a) {
  if (a.evidence.empty())
    return;
  o << "<ul class=\"evidence\">";
  for (const auto& e : a.evidence) {
    o << "<li>";
    if (e.trace_line)
      o << "trace line " << e.trace_line << " <code>" << html_escape(e.anchor) << "</code>";
    if (!e.detail.empty())
      o << (e.trace_line ? " " : "") << html_escape(e.detail);
    if (e.seq)
      o << ", seq " << *e.seq;
    if (e.index >= 0)
      o << ", index " << e.index;
    if (e.tid)
      o << ", tid " << e.tid;
    o << "</li>";
  }
  o << "</ul>";
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
    evidence_list(o, a);
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
    << "</code>, latency tolerance " << one_decimal(c.tolerance * 100) << "%: "
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
  timeline_section(o, r, options, flagged, lanes);
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
