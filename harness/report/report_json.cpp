// Writing `harness.report/1` (report_json.hpp, docs/report-schema.md): the report as JSON, a
// function per section; reading it back is report_json_read.cpp.
#include "harness/report/report_json.hpp"

#include "harness/report/text_util.hpp"

#include <array>
#include <cstring>

namespace harness::report {
namespace {

using nlohmann::json;

json percentiles_json(const Percentiles& p) {
  return {{"count", p.count}, {"min", p.min}, {"p50", p.p50},
          {"p90", p.p90},     {"p99", p.p99}, {"max", p.max}};
}

json opt_ns(std::uint64_t v) {
  return v ? json(v) : json(nullptr);
}

std::string_view expect_name(Expect e) {
  switch (e) {
  case Expect::always:
    return "always";
  case Expect::conditional:
    return "conditional";
  case Expect::other_version:
    return "other_version";
  case Expect::bounds:
    return "bounds";
  }
  return "conditional";
}

json loss_json(const LossInfo& l) {
  json windows = json::array();
  for (const auto& w : l.first_windows)
    windows.push_back(
        {{"from_ns", w.from_ns}, {"to_ns", std::min<std::uint64_t>(w.to_ns, INT64_MAX)}});
  return {{"any", l.any},
          {"records", l.records},
          {"uncounted", l.uncounted},
          {"by_cause", l.by_cause},
          {"windows", l.windows},
          {"covered_ns", l.covered_ns},
          {"first_windows", std::move(windows)},
          {"frames_unobserved", l.frames_unobserved},
          {"frames_observed", l.frames_observed},
          {"observed_share", l.observed_share()},
          {"calls_unjudged", l.calls_unjudged}};
}

json frame_json(const FrameTimeline& f) {
  json j;
  j["seq"] = f.has_sender ? json(f.sender.seq) : json(nullptr);
  j["index"] = f.index;
  j["ring"] = f.ring;
  j["outcome"] = outcome_name(f.outcome);
  j["in_loss"] = f.in_loss;
  j["mapped_by"] = map_source_name(f.mapped_by);
  if (f.has_sender)
    j["sender"] = {{"t_fill_ns", f.sender.t_fill_ns},
                   {"t_request_ns", f.sender.t_request_ns},
                   {"t_send_ns", f.sender.t_send_ns},
                   {"t_done_ns", f.sender.t_done_ns},
                   {"final", sender::status_name(f.sender.final_status)}};
  else
    j["sender"] = nullptr;
  if (f.has_kernel) {
    json k;
    k["po"] = format_hex(f.po);
    k["addr"] = format_hex(f.addr);
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      k[std::string(phase_name(static_cast<Phase>(p))) + "_ns"] = opt_ns(f.t[p]);
    k["request_seen_count"] = f.request_seen_count;
    k["xmit_err"] = f.xmit_err;
    k["last_status"] = f.last_status == 0xffffffffu ? json(nullptr) : json(f.last_status);
    k["status_backwards"] = f.status_backwards ? json{{"from", status_text(f.backwards_from)},
                                                      {"to", status_text(f.backwards_to)}}
                                               : json(nullptr);
    j["kernel"] = std::move(k);
  } else {
    j["kernel"] = nullptr;
  }
  const std::uint64_t end =
      f.seen(Phase::available) ? f.at(Phase::available) : f.at(Phase::destruct);
  if (f.has_sender && f.sender.t_request_ns > 0 &&
      end >= static_cast<std::uint64_t>(f.sender.t_request_ns))
    j["latency_ns"] = end - static_cast<std::uint64_t>(f.sender.t_request_ns);
  else
    j["latency_ns"] = nullptr;
  return j;
}

json workload_to_json(const WorkloadInfo& w) {
  return {
      {"argv", w.argv},
      {"pid", w.pid},
      {"iface", w.iface},
      {"netns", w.netns},
      {"exited", w.exited},
      {"exit_code", w.exited && w.signal == 0 && !w.attached ? json(w.exit_code) : json(nullptr)},
      {"signal", w.signal},
      {"stopped", w.stopped},
      {"attached", w.attached},
      {"stdout_file", w.stdout_file},
      {"stderr_file", w.stderr_file},
      {"stdout_tail", w.stdout_tail},
      {"stderr_tail", w.stderr_tail}};
}

json run_json(const RunInfo& ru) {
  return {{"kernel", ru.kernel},
          {"plan_id", ru.plan_id},
          {"probes", ru.probes},
          {"map", ru.map},
          {"iface", ru.iface},
          {"tpacket", ru.tpacket},
          {"socket", ru.socket},
          {"ring",
           {{"frames", ru.ring_frames},
            {"frame_size", ru.frame_size},
            {"block_size", ru.block_size},
            {"frames_per_block", ru.frames_per_block}}},
          {"rings", ru.rings},
          {"sender_pid", ru.sender_pid},
          {"run_id", ru.run_id},
          {"run_dir", ru.run_dir}};
}

json trace_json(const TraceInfo& t) {
  json samples = json::array();
  for (const auto& b : t.malformed_samples)
    samples.push_back({{"line", b.line}, {"reason", b.reason}, {"text", b.text}});
  return {{"lines", t.lines},
          {"records", t.records},
          {"events", t.events},
          {"other_lines", t.other_lines},
          {"malformed", t.malformed},
          {"truncated_tail", t.truncated_tail},
          {"reordered", t.reordered},
          {"late", t.late},
          {"ready", t.ready},
          {"ready_ts_ns", opt_ns(t.ready_ts)},
          {"end", t.end},
          {"end_ts_ns", opt_ns(t.end_ts)},
          {"first_event_ts_ns", opt_ns(t.first_event_ts)},
          {"last_event_ts_ns", opt_ns(t.last_event_ts)},
          {"unreadable_events", t.unreadable_events},
          {"unmapped_uses", t.unmapped_uses},
          {"by_call_frame", t.by_call_frame},
          {"mapping_conflicts", t.mapping_conflicts},
          {"foreign_sockets", t.foreign_sockets},
          {"foreign_uses", t.foreign_uses},
          {"malformed_samples", samples}};
}

json phases_json(const Report& r) {
  json phases = json::array();
  for (const auto& p : r.phases)
    phases.push_back({{"name", phase_name(p.phase)},
                      {"title", phase_title(p.phase)},
                      {"expected", p.expected},
                      {"observed", p.observed},
                      {"frames", p.frames},
                      {"missing", p.missing}});
  return phases;
}

json probes_json(const Report& r) {
  json probes = json::array();
  for (const auto& p : r.probes)
    probes.push_back({{"anchor", p.anchor},
                      {"function", p.function},
                      {"line", p.line},
                      {"statement", p.statement},
                      {"planned", p.planned},
                      {"expect", expect_name(p.expect)},
                      {"when", p.when},
                      {"records", p.events},
                      {"hits", p.hits ? json(*p.hits) : json(nullptr)},
                      {"unreadable", p.unreadable}});
  return probes;
}

json summary_json(const Summary& s) {
  json errors = json::array();
  for (const auto& [err, count] : s.errors) {
    const char* name =
        err < 0 && err >= -4095 ? ::strerrorname_np(static_cast<int>(-err)) : nullptr;
    errors.push_back({{"err", err}, {"count", count}, {"name", name ? name : ""}});
  }
  return {{"requested", s.requested},
          {"queued", s.queued},
          {"sent", s.sent},
          {"frames", s.frames},
          {"completed", s.completed},
          {"stuck", s.stuck},
          {"not_seen", s.not_seen},
          {"unmatched", s.unmatched},
          {"wrong_format", s.wrong_format},
          {"discarded", s.discarded},
          {"unobserved", s.unobserved},
          {"latency_ns", percentiles_json(s.latency)},
          {"kernel_hold_ns", percentiles_json(s.kernel_hold)},
          {"pickup_ns", percentiles_json(s.pickup)},
          {"snd_calls", s.snd_calls},
          {"waits", s.waits},
          {"wait_continues", s.wait_continues},
          {"else_breaks", s.else_breaks},
          {"waits_dontwait", s.waits_dontwait},
          {"blocked_calls", s.blocked_calls},
          {"alloc_failed", s.alloc_failed},
          {"xmit_errors", s.xmit_errors},
          {"errors", errors},
          {"bytes_returned", s.bytes_returned},
          {"max_pending", s.max_pending ? json(*s.max_pending) : json(nullptr)}};
}

json anomalies_json(const Report& r) {
  json anomalies = json::array();
  for (const auto& a : r.anomalies) {
    json evidence = json::array();
    for (const auto& e : a.evidence)
      evidence.push_back({{"anchor", e.anchor},
                          {"trace_line", e.trace_line},
                          {"tid", e.tid},
                          {"seq", e.seq ? json(*e.seq) : json(nullptr)},
                          {"index", e.index},
                          {"detail", e.detail}});
    anomalies.push_back(
        {{"id", a.kind},
         {"kind", a.kind},
         {"message", a.message},
         {"count", a.count},
         {"seqs", a.seqs},
         {"indices", a.indices},
         {"anchor", a.anchor},
         {"line", a.line},
         {"evidence", std::move(evidence)},
         {"not_from_loss", a.not_from_loss.empty() ? json(nullptr) : json(a.not_from_loss)}});
  }
  return anomalies;
}

json baseline_json(const Report& r) {
  if (!r.comparison)
    return nullptr;
  json regs = json::array();
  for (const auto& g : r.comparison->regressions)
    regs.push_back({{"what", g.what},
                    {"baseline", g.baseline},
                    {"current", g.current},
                    {"message", g.message}});
  return {{"file", r.comparison->baseline_file},
          {"tolerance", r.comparison->tolerance},
          {"regressions", regs},
          {"notes", r.comparison->notes},
          {"not_comparable", r.comparison->not_comparable}};
}

} // namespace

json report_to_json(const Report& r) {
  json j;
  j["schema"] = r.schema;
  j["harness_version"] = r.harness_version;
  j["partial"] = r.partial;
  j["partial_reason"] = r.partial_reason;
  j["exit_code"] = r.exit_code();
  j["verdict"] = r.verdict();
  j["run"] = run_json(r.run);
  j["trace"] = trace_json(r.trace);
  j["phases"] = phases_json(r);
  j["probes"] = probes_json(r);
  j["summary"] = summary_json(r.summary);
  j["frames_total"] = r.frames_total;
  json frames = json::array();
  for (const auto& f : r.frames)
    frames.push_back(frame_json(f));
  j["frames"] = std::move(frames);
  j["anomalies"] = anomalies_json(r);
  j["loss"] = loss_json(r.loss);
  j["notes"] = r.notes;
  j["baseline"] = baseline_json(r);
  j["workload"] = r.workload ? workload_to_json(*r.workload) : json(nullptr);
  return j;
}

std::span<const std::string_view> report_keys() {
  static constexpr std::array<std::string_view, 18> kKeys = {
      "schema", "harness_version", "partial", "partial_reason", "exit_code", "verdict",
      "run",    "trace",           "phases",  "probes",         "summary",   "frames_total",
      "frames", "anomalies",       "loss",    "notes",          "baseline",  "workload"};
  return kKeys;
}

std::string report_json_text(const Report& r) {
  return report_to_json(r).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace harness::report
