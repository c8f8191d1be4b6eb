// Reading `harness.report/1` back (report_from_json, load_report; the writer is report_json.cpp):
// every key optional, each present one checked for its type and range, then what the types alone
// do not say.
#include "base/json_file.hpp"
#include "base/json_reader.hpp"
#include "base/printable.hpp"
#include "harness/report/report_json.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <net/if.h>

namespace harness::report {
namespace {

using nlohmann::json;

// The hint of every error about a report.json that is read back (a baseline).
constexpr char kReportFileHint[] =
    "give a report.json written by `harness run --json` or `harness report --json`";

// The report format's policy over the strict reader (base/json_reader.hpp): every key is
// optional (absent or null: the default), a present key must have the right type and range;
// problems read "key PATH: why" and name the report file.
class Reader {
public:
  explicit Reader(std::string_view origin)
      : jr_([o = std::string(origin)](const std::string& field, const std::string& why) {
          return Error{Exit::usage, "report " + o, "key " + field + ": " + why, kReportFileHint};
        }) {}
  bool ok() const { return jr_.ok(); }
  Error error() const { return jr_.error(); }

  const json* obj(const json& j, const char* key, const std::string& path) {
    return jr_.object(j, key, path);
  }
  const json* arr(const json& j, const char* key, const std::string& path) {
    return jr_.array(j, key, path);
  }
  template <class T> T num(const json& j, const char* key, const std::string& path, T def = {}) {
    const json* v = jr_.member(j, key, path, false);
    return v ? checked<T>(*v, path + key, def) : def;
  }
  template <class T> T checked(const json& v, const std::string& key, T def = {}) {
    return jr_.integer<T>(v, key).value_or(def);
  }
  std::string str(const json& j, const char* key, const std::string& path) {
    const json* v = jr_.member(j, key, path, false);
    return v ? jr_.text(*v, path + key).value_or(std::string()) : std::string();
  }
  std::string text(const json& v, const std::string& key) {
    return jr_.text(v, key).value_or(std::string());
  }
  bool boolean(const json& j, const char* key, const std::string& path) {
    const json* v = jr_.member(j, key, path, false);
    return v && jr_.boolean(*v, path + key).value_or(false);
  }
  void fail_key(const std::string& key, const std::string& why) { jr_.fail(key, why); }

private:
  JsonReader jr_;
};

Percentiles read_percentiles(Reader& rd, const json& j, const char* key, const std::string& path) {
  Percentiles p;
  const json* o = rd.obj(j, key, path);
  if (!o)
    return p;
  const std::string sub = path + key + ".";
  p.count = rd.num<std::uint64_t>(*o, "count", sub);
  p.min = rd.num<std::uint64_t>(*o, "min", sub);
  p.p50 = rd.num<std::uint64_t>(*o, "p50", sub);
  p.p90 = rd.num<std::uint64_t>(*o, "p90", sub);
  p.p99 = rd.num<std::uint64_t>(*o, "p99", sub);
  p.max = rd.num<std::uint64_t>(*o, "max", sub);
  if (!(p.min <= p.p50 && p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max))
    rd.fail_key(path + key, "percentiles out of order (min <= p50 <= p90 <= p99 <= max)");
  return p;
}

std::uint64_t parse_hex(const std::string& s) {
  if (s.size() < 3 || s.compare(0, 2, "0x") != 0)
    return 0;
  return std::strtoull(s.c_str() + 2, nullptr, 16);
}

// What the types alone do not say (the report schema, docs/report-schema.md).
void check_ranges(Reader& rd, const Report& r) {
  if (r.run.tpacket < 0 || r.run.tpacket > 3)
    rd.fail_key("run.tpacket", std::to_string(r.run.tpacket) + " is not 1, 2 or 3");
  if (r.run.ring_frames > sender::kMaxRingFrames)
    rd.fail_key("run.ring.frames", std::to_string(r.run.ring_frames) +
                                       " is out of range (at most " +
                                       std::to_string(sender::kMaxRingFrames) + ")");
  if (r.run.ring_frames > 0 && (r.run.frame_size == 0 || r.run.block_size == 0))
    rd.fail_key("run.ring", "frame_size and block_size must be positive");
  if (r.run.iface.size() >= IFNAMSIZ)
    rd.fail_key("run.iface",
                "longer than an interface name (" + std::to_string(IFNAMSIZ - 1) + " characters)");
  for (const auto& f : r.frames)
    if (f.index < -1 ||
        (r.run.ring_frames > 0 && f.index >= static_cast<std::int64_t>(r.run.ring_frames))) {
      rd.fail_key("frames[].index", std::to_string(f.index) + " is beyond the ring of " +
                                        std::to_string(r.run.ring_frames) + " frames");
      break;
    }
  for (const auto& p : r.probes)
    if (p.line < 0) {
      rd.fail_key("probes[].line", std::to_string(p.line) + " is negative");
      break;
    }
}

// run: what ran, on which kernel, with which ring.
void read_run(Reader& rd, const json& j, Report& r) {
  if (const json* ru = rd.obj(j, "run", "")) {
    r.run.kernel = rd.str(*ru, "kernel", "run.");
    r.run.plan_id = rd.str(*ru, "plan_id", "run.");
    r.run.probes = rd.str(*ru, "probes", "run.");
    r.run.map = rd.str(*ru, "map", "run.");
    r.run.iface = rd.str(*ru, "iface", "run.");
    r.run.tpacket = rd.num<int>(*ru, "tpacket", "run.");
    r.run.socket = rd.str(*ru, "socket", "run.");
    if (const json* ring = rd.obj(*ru, "ring", "run.")) {
      r.run.ring_frames = rd.num<std::uint32_t>(*ring, "frames", "run.ring.");
      r.run.frame_size = rd.num<std::uint32_t>(*ring, "frame_size", "run.ring.");
      r.run.block_size = rd.num<std::uint32_t>(*ring, "block_size", "run.ring.");
      r.run.frames_per_block = rd.num<std::uint32_t>(*ring, "frames_per_block", "run.ring.");
    }
    r.run.rings = rd.num<std::uint32_t>(*ru, "rings", "run.", 1);
    r.run.sender_pid = rd.num<std::uint32_t>(*ru, "sender_pid", "run.");
    r.run.run_id = rd.num<std::uint32_t>(*ru, "run_id", "run.");
    r.run.run_dir = rd.str(*ru, "run_dir", "run.");
  }
}

// trace: what the parser and the correlator counted.
void read_trace(Reader& rd, const json& j, Report& r) {
  if (const json* t = rd.obj(j, "trace", "")) {
    const std::string p = "trace.";
    r.trace.lines = rd.num<std::uint64_t>(*t, "lines", p);
    r.trace.records = rd.num<std::uint64_t>(*t, "records", p);
    r.trace.events = rd.num<std::uint64_t>(*t, "events", p);
    r.trace.other_lines = rd.num<std::uint64_t>(*t, "other_lines", p);
    r.trace.malformed = rd.num<std::uint64_t>(*t, "malformed", p);
    r.trace.truncated_tail = rd.num<std::uint64_t>(*t, "truncated_tail", p);
    r.trace.reordered = rd.num<std::uint64_t>(*t, "reordered", p);
    r.trace.late = rd.num<std::uint64_t>(*t, "late", p);
    r.trace.ready = rd.boolean(*t, "ready", p);
    r.trace.end = rd.boolean(*t, "end", p);
    r.trace.ready_ts = rd.num<std::uint64_t>(*t, "ready_ts_ns", p);
    r.trace.end_ts = rd.num<std::uint64_t>(*t, "end_ts_ns", p);
    r.trace.first_event_ts = rd.num<std::uint64_t>(*t, "first_event_ts_ns", p);
    r.trace.last_event_ts = rd.num<std::uint64_t>(*t, "last_event_ts_ns", p);
    r.trace.unreadable_events = rd.num<std::uint64_t>(*t, "unreadable_events", p);
    r.trace.unmapped_uses = rd.num<std::uint64_t>(*t, "unmapped_uses", p);
    r.trace.by_call_frame = rd.num<std::uint64_t>(*t, "by_call_frame", p);
    r.trace.mapping_conflicts = rd.num<std::uint64_t>(*t, "mapping_conflicts", p);
    r.trace.foreign_sockets = rd.num<std::uint64_t>(*t, "foreign_sockets", p);
    r.trace.foreign_uses = rd.num<std::uint64_t>(*t, "foreign_uses", p);
  }
}

// phases: one row per frame phase (unknown names are skipped).
void read_phases(Reader& rd, const json& j, Report& r) {
  if (const json* phases = rd.arr(j, "phases", "")) {
    for (const auto& pj : *phases) {
      const std::string name = rd.str(pj, "name", "phases[].");
      for (std::size_t p = 0; p < kPhaseCount; ++p)
        if (phase_name(static_cast<Phase>(p)) == name) {
          PhaseRow& row = r.phases[p];
          row.phase = static_cast<Phase>(p);
          row.expected = rd.boolean(pj, "expected", "phases[].");
          row.observed = rd.boolean(pj, "observed", "phases[].");
          row.frames = rd.num<std::uint64_t>(pj, "frames", "phases[].");
          row.missing = rd.num<std::uint64_t>(pj, "missing", "phases[].");
        }
    }
  }
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    r.phases[p].phase = static_cast<Phase>(p);
}

// probes: one row per anchor.
void read_probes(Reader& rd, const json& j, Report& r) {
  if (const json* probes = rd.arr(j, "probes", "")) {
    for (const auto& pj : *probes) {
      ProbeRow row;
      const std::string p = "probes[].";
      row.anchor = rd.str(pj, "anchor", p);
      row.function = rd.str(pj, "function", p);
      row.line = rd.num<int>(pj, "line", p);
      row.statement = rd.str(pj, "statement", p);
      row.planned = rd.boolean(pj, "planned", p);
      const std::string e = rd.str(pj, "expect", p);
      row.expect = e == "always"          ? Expect::always
                   : e == "other_version" ? Expect::other_version
                   : e == "bounds"        ? Expect::bounds
                                          : Expect::conditional;
      row.when = rd.str(pj, "when", p);
      row.events = rd.num<std::uint64_t>(pj, "records", p);
      if (pj.contains("hits") && !pj["hits"].is_null())
        row.hits = rd.checked<std::uint64_t>(pj["hits"], p + "hits");
      row.unreadable = rd.num<std::uint64_t>(pj, "unreadable", p);
      r.probes.push_back(std::move(row));
    }
  }
}

// summary: counts and percentiles.
void read_summary(Reader& rd, const json& j, Report& r) {
  if (const json* s = rd.obj(j, "summary", "")) {
    const std::string p = "summary.";
    Summary& sm = r.summary;
    sm.requested = rd.num<std::uint64_t>(*s, "requested", p);
    sm.queued = rd.num<std::uint64_t>(*s, "queued", p);
    sm.sent = rd.num<std::uint64_t>(*s, "sent", p);
    sm.frames = rd.num<std::uint64_t>(*s, "frames", p);
    sm.completed = rd.num<std::uint64_t>(*s, "completed", p);
    sm.stuck = rd.num<std::uint64_t>(*s, "stuck", p);
    sm.not_seen = rd.num<std::uint64_t>(*s, "not_seen", p);
    sm.unmatched = rd.num<std::uint64_t>(*s, "unmatched", p);
    sm.wrong_format = rd.num<std::uint64_t>(*s, "wrong_format", p);
    sm.discarded = rd.num<std::uint64_t>(*s, "discarded", p);
    sm.unobserved = rd.num<std::uint64_t>(*s, "unobserved", p);
    sm.latency = read_percentiles(rd, *s, "latency_ns", p);
    sm.kernel_hold = read_percentiles(rd, *s, "kernel_hold_ns", p);
    sm.pickup = read_percentiles(rd, *s, "pickup_ns", p);
    sm.snd_calls = rd.num<std::uint64_t>(*s, "snd_calls", p);
    sm.waits = rd.num<std::uint64_t>(*s, "waits", p);
    sm.wait_continues = rd.num<std::uint64_t>(*s, "wait_continues", p);
    sm.else_breaks = rd.num<std::uint64_t>(*s, "else_breaks", p);
    sm.waits_dontwait = rd.num<std::uint64_t>(*s, "waits_dontwait", p);
    sm.blocked_calls = rd.num<std::uint64_t>(*s, "blocked_calls", p);
    sm.alloc_failed = rd.num<std::uint64_t>(*s, "alloc_failed", p);
    sm.xmit_errors = rd.num<std::uint64_t>(*s, "xmit_errors", p);
    if (const json* errs = rd.arr(*s, "errors", p))
      for (const auto& e : *errs)
        sm.errors[rd.num<std::int64_t>(e, "err", p + "errors[].")] =
            rd.num<std::uint64_t>(e, "count", p + "errors[].");
    sm.bytes_returned = rd.num<std::uint64_t>(*s, "bytes_returned", p);
    if (s->contains("max_pending") && !(*s)["max_pending"].is_null())
      sm.max_pending = rd.checked<std::uint64_t>((*s)["max_pending"], p + "max_pending");
  }
}

// frames: the frame table.
void read_frames(Reader& rd, const json& j, Report& r) {
  r.frames_total = rd.num<std::uint64_t>(j, "frames_total", "");
  if (const json* frames = rd.arr(j, "frames", "")) {
    for (const auto& fj : *frames) {
      const std::string p = "frames[].";
      FrameTimeline f;
      f.index = rd.num<std::int64_t>(fj, "index", p, -1);
      f.ring = rd.num<std::uint32_t>(fj, "ring", p);
      const std::string outcome = rd.str(fj, "outcome", p);
      for (std::size_t o = 0; o < kOutcomes; ++o)
        if (outcome_name(static_cast<Outcome>(o)) == outcome)
          f.outcome = static_cast<Outcome>(o);
      f.in_loss = rd.boolean(fj, "in_loss", p);
      const std::string mapped = rd.str(fj, "mapped_by", p);
      for (auto m :
           {MapSource::none, MapSource::ph_check, MapSource::len_sum, MapSource::ring_order})
        if (map_source_name(m) == mapped)
          f.mapped_by = m;
      if (fj.contains("sender") && fj["sender"].is_object()) {
        const json& s = fj["sender"];
        f.has_sender = true;
        f.sender.seq = rd.num<std::uint64_t>(fj, "seq", p);
        f.sender.index = f.index >= 0 ? static_cast<std::uint32_t>(f.index) : 0;
        f.sender.ring = f.ring;
        f.sender.t_fill_ns = rd.num<std::int64_t>(s, "t_fill_ns", p + "sender.");
        f.sender.t_request_ns = rd.num<std::int64_t>(s, "t_request_ns", p + "sender.");
        f.sender.t_send_ns = rd.num<std::int64_t>(s, "t_send_ns", p + "sender.");
        f.sender.t_done_ns = rd.num<std::int64_t>(s, "t_done_ns", p + "sender.");
        if (auto st = sender::parse_status_name(rd.str(s, "final", p + "sender.")))
          f.sender.final_status = *st;
      }
      if (fj.contains("kernel") && fj["kernel"].is_object()) {
        const json& k = fj["kernel"];
        f.has_kernel = true;
        f.po = parse_hex(rd.str(k, "po", p + "kernel."));
        f.addr = parse_hex(rd.str(k, "addr", p + "kernel."));
        for (std::size_t ph = 0; ph < kPhaseCount; ++ph) {
          const std::string key = std::string(phase_name(static_cast<Phase>(ph))) + "_ns";
          f.t[ph] = rd.num<std::uint64_t>(k, key.c_str(), p + "kernel.");
        }
        f.request_seen_count = rd.num<std::uint32_t>(k, "request_seen_count", p + "kernel.");
        f.xmit_err = rd.num<std::int64_t>(k, "xmit_err", p + "kernel.");
        f.last_status = rd.num<std::uint32_t>(k, "last_status", p + "kernel.", 0xffffffffu);
        f.status_backwards = k.contains("status_backwards") && k["status_backwards"].is_object();
      }
      r.frames.push_back(f);
    }
  }
}

// anomalies: the findings, with their evidence.
void read_anomalies(Reader& rd, const json& j, Report& r) {
  if (const json* an = rd.arr(j, "anomalies", "")) {
    for (const auto& aj : *an) {
      Anomaly a;
      const std::string p = "anomalies[].";
      a.kind = rd.str(aj, "kind", p);
      a.message = rd.str(aj, "message", p);
      a.count = rd.num<std::uint64_t>(aj, "count", p, 1);
      if (aj.contains("seqs") && aj["seqs"].is_array())
        for (const auto& v : aj["seqs"])
          a.seqs.push_back(rd.checked<std::uint64_t>(v, p + "seqs[]"));
      if (aj.contains("indices") && aj["indices"].is_array())
        for (const auto& v : aj["indices"])
          a.indices.push_back(rd.checked<std::int64_t>(v, p + "indices[]"));
      a.anchor = rd.str(aj, "anchor", p);
      a.line = rd.num<int>(aj, "line", p);
      a.not_from_loss = rd.str(aj, "not_from_loss", p);
      if (aj.contains("evidence") && aj["evidence"].is_array())
        for (const auto& ej : aj["evidence"]) {
          if (!ej.is_object())
            continue;
          Evidence e;
          const std::string q = p + "evidence[].";
          e.anchor = rd.str(ej, "anchor", q);
          e.trace_line = rd.num<std::uint64_t>(ej, "trace_line", q);
          e.tid = rd.num<std::uint32_t>(ej, "tid", q);
          if (ej.contains("seq") && ej["seq"].is_number_unsigned())
            e.seq = ej["seq"].get<std::uint64_t>();
          e.index = rd.num<std::int64_t>(ej, "index", q, -1);
          e.detail = rd.str(ej, "detail", q);
          a.evidence.push_back(std::move(e));
        }
      r.anomalies.push_back(std::move(a));
    }
  }
}

// loss: what the tracer lost.
void read_loss(Reader& rd, const json& j, Report& r) {
  const json* o = rd.obj(j, "loss", "");
  if (!o)
    return;
  const std::string p = "loss.";
  LossInfo& l = r.loss;
  l.any = rd.boolean(*o, "any", p);
  l.records = rd.num<std::uint64_t>(*o, "records", p);
  l.uncounted = rd.boolean(*o, "uncounted", p);
  if (const json* c = rd.obj(*o, "by_cause", p))
    for (const auto& [name, v] : c->items())
      if (lost_cause_from_name(name) != LostCause::other || name == "other")
        l.by_cause[name] = rd.checked<std::uint64_t>(v, p + "by_cause." + name);
  l.windows = rd.num<std::uint64_t>(*o, "windows", p);
  l.covered_ns = rd.num<std::uint64_t>(*o, "covered_ns", p);
  if (const json* ws = rd.arr(*o, "first_windows", p))
    for (const auto& w : *ws)
      l.first_windows.push_back({rd.num<std::uint64_t>(w, "from_ns", p + "first_windows[]."),
                                 rd.num<std::uint64_t>(w, "to_ns", p + "first_windows[].")});
  l.frames_unobserved = rd.num<std::uint64_t>(*o, "frames_unobserved", p);
  l.frames_observed = rd.num<std::uint64_t>(*o, "frames_observed", p);
  l.calls_unjudged = rd.num<std::uint64_t>(*o, "calls_unjudged", p);
}

// notes.
void read_notes(Reader& rd, const json& j, Report& r) {
  if (j.contains("notes") && j["notes"].is_array())
    for (const auto& n : j["notes"])
      if (n.is_string())
        r.notes.push_back(rd.text(n, "notes[]"));
}

std::vector<std::string> strings(Reader& rd, const json& j, const char* key,
                                 const std::string& path) {
  std::vector<std::string> v;
  if (const json* a = rd.arr(j, key, path))
    for (const auto& x : *a) {
      if (!x.is_string()) {
        rd.fail_key(path + key + "[]", "not a string");
        break;
      }
      v.push_back(rd.text(x, path + key + "[]"));
    }
  return v;
}

// workload: absent or null in reports of the built-in sender (and of harness before --exec).
void read_workload(Reader& rd, const json& j, Report& r) {
  auto it = j.find("workload");
  if (it == j.end() || it->is_null())
    return;
  if (!it->is_object()) {
    rd.fail_key("workload", "not an object");
    return;
  }
  const json& wj = *it;
  const std::string p = "workload.";
  WorkloadInfo w;
  w.argv = strings(rd, wj, "argv", p);
  w.pid = rd.num<std::uint32_t>(wj, "pid", p);
  w.iface = rd.str(wj, "iface", p);
  w.netns = rd.str(wj, "netns", p);
  w.exited = rd.boolean(wj, "exited", p);
  w.exit_code = rd.num<int>(wj, "exit_code", p, -1);
  w.signal = rd.num<int>(wj, "signal", p);
  w.stopped = rd.boolean(wj, "stopped", p);
  w.attached = rd.boolean(wj, "attached", p);
  w.stdout_file = rd.str(wj, "stdout_file", p);
  w.stderr_file = rd.str(wj, "stderr_file", p);
  w.stdout_tail = strings(rd, wj, "stdout_tail", p);
  w.stderr_tail = strings(rd, wj, "stderr_tail", p);
  r.workload = std::move(w);
}

} // namespace

Result<Report> report_from_json(const nlohmann::json& j, std::string_view origin) {
  Reader rd(origin);
  if (!j.is_object())
    return fail(Exit::usage, "report " + std::string(origin), "not a JSON object", kReportFileHint);
  const std::string schema = rd.str(j, "schema", "");
  if (schema != kReportSchema)
    return fail(Exit::usage, "report " + std::string(origin),
                schema.empty()
                    ? "no \"schema\" key"
                    : "schema is " + schema + ", this harness reads " + std::string(kReportSchema),
                "compare reports written by the same major report version");
  Report r;
  r.harness_version = rd.str(j, "harness_version", "");
  r.partial = rd.boolean(j, "partial", "");
  r.partial_reason = rd.str(j, "partial_reason", "");
  read_run(rd, j, r);
  read_trace(rd, j, r);
  read_phases(rd, j, r);
  read_probes(rd, j, r);
  read_summary(rd, j, r);
  read_frames(rd, j, r);
  read_anomalies(rd, j, r);
  read_loss(rd, j, r);
  read_notes(rd, j, r);
  read_workload(rd, j, r);
  check_ranges(rd, r);
  if (!rd.ok())
    return std::unexpected(rd.error());
  return r;
}

Result<Report> load_report(const std::string& path) {
  auto j = load_json_document(path, report_keys(), {"report", kReportFileHint, kReportFileHint});
  if (!j)
    return std::unexpected(j.error());
  return report_from_json(*j, path);
}

} // namespace harness::report
