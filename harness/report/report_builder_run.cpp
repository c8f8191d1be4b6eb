// The sections of a report that need no builder state: the run, the trace and the probes, from
// the READY record, the plan, the sender's records and what the parser and correlator counted.
#include "harness/report/report_builder_internal.hpp"

#include <set>

namespace harness::report::builder_detail {

// Run identity: the READY record, else the plan; the ring from the sender's records. Returns the
// TPACKET version in use (0 when unknown).
int fill_run(RunInfo& run, const Inputs& c) {
  const BuildInputs& in = c.in;
  const ParseStats& ps = c.ps;
  const KernelStats& ks = c.ks;
  if (ps.ready) {
    run.kernel = ps.ready->kernel;
    run.plan_id = ps.ready->plan;
    run.probes = ps.ready->probes;
  }
  if (in.plan) {
    if (run.kernel.empty())
      run.kernel = in.plan->kernel;
    if (run.plan_id.empty())
      run.plan_id = in.plan->plan_id;
    if (run.probes.empty())
      run.probes = std::string(probes::to_string(in.plan->probes));
    run.map = in.plan->map;
  }
  // What the run recorded beats what the user says about it: the sender's records, else the
  // geometry the trace's snd.start saw, else --tpacket (a wrong option once made a clean trace
  // FAIL with "probe never fired"; report_builder.cpp notes an option that is not used).
  int tpacket = 0;
  if (in.sender) {
    const auto& s = *in.sender;
    run.iface = s.iface;
    tpacket = static_cast<int>(s.version);
    run.socket = s.dgram ? "dgram" : "raw";
    run.ring_frames = s.ring.frames;
    run.frame_size = s.ring.frame_size;
    run.block_size = s.ring.block_size;
    run.frames_per_block = s.ring.frames_per_block;
    run.rings = s.sockets;
    run.sender_pid = static_cast<std::uint32_t>(s.pid);
    run.run_id = s.run_id;
  }
  if (tpacket == 0 && ks.geometry && ks.geometry->version && *ks.geometry->version <= 2)
    tpacket = static_cast<int>(*ks.geometry->version) + 1;
  if (tpacket == 0)
    tpacket = in.tpacket;
  run.tpacket = tpacket;
  return tpacket;
}

// Trace facts: what the parser and the correlator counted.
void fill_trace(TraceInfo& tr, const Inputs& c) {
  const ParseStats& ps = c.ps;
  const KernelStats& ks = c.ks;
  tr.lines = ps.lines;
  tr.records = ps.records;
  tr.events = ps.events;
  tr.other_lines = ps.other_lines;
  tr.malformed = ps.malformed;
  tr.truncated_tail = ps.truncated_tail;
  tr.protocol_checked = ks.protocol_checked;
  tr.protocol_unjudged = ks.protocol_unjudged;
  tr.malformed_samples = ps.samples;
  tr.reordered = c.in.reordered;
  tr.late = c.in.late;
  tr.ready = ps.ready.has_value();
  tr.ready_ts = ps.ready ? ps.ready->ts_ns : 0;
  tr.end = ps.end_ts.has_value();
  tr.end_ts = ps.end_ts.value_or(0);
  tr.first_event_ts = ks.first_ts;
  tr.last_event_ts = ks.last_ts;
  tr.unreadable_events = ks.unreadable_events;
  tr.by_call_frame = ks.by_call_frame;
  tr.unmapped_uses = ks.unmapped_uses;
  tr.mapping_conflicts = ks.mapping_conflicts;
  tr.foreign_sockets = ks.foreign_sockets;
  tr.foreign_uses = ks.foreign_uses;
}

namespace {

// A probe row's counts (records, END hits, unreadable records) and what a run should show of it.
void fill_counts(ProbeRow& row, const Inputs& c, int tpacket) {
  const BuildInputs& in = c.in;
  const ParseStats& ps = c.ps;
  const KernelStats& ks = c.ks;
  if (in.anchors) {
    if (auto id = in.anchors->find(row.anchor)) {
      if (*id < ps.events_by_anchor.size())
        row.events = ps.events_by_anchor[*id];
      if (*id < ps.hits.size() && ps.hits[*id] >= 0)
        row.hits = static_cast<std::uint64_t>(ps.hits[*id]);
      if (*id < ks.unreadable_by_anchor.size())
        row.unreadable = ks.unreadable_by_anchor[*id];
    }
  }
  const auto e = expectation_of(row.anchor, tpacket);
  row.expect = e.expect;
  row.when = std::string(e.when);
}

} // namespace

// Probes: the plan's, then whatever else the trace mentions.
void list_probes(Report& r, const Inputs& c, int tpacket) {
  const BuildInputs& in = c.in;
  const ParseStats& ps = c.ps;
  std::set<std::string> listed;
  if (in.plan)
    for (const auto& p : in.plan->anchors) {
      ProbeRow row;
      row.anchor = p.anchor;
      row.function = p.function;
      row.line = p.line;
      row.statement = p.statement;
      row.planned = true;
      fill_counts(row, c, tpacket);
      listed.insert(row.anchor);
      r.probes.push_back(std::move(row));
    }
  if (in.anchors)
    for (std::size_t id = 0; id < in.anchors->size(); ++id) {
      const bool ev = id < ps.events_by_anchor.size() && ps.events_by_anchor[id] > 0;
      const bool hit = id < ps.hits.size() && ps.hits[id] >= 0;
      const std::string name(in.anchors->name(static_cast<AnchorId>(id)));
      if ((!ev && !hit) || listed.count(name))
        continue;
      ProbeRow row;
      row.anchor = name;
      row.planned = hit && !in.plan; // the END summary lists every probe of the script
      fill_counts(row, c, tpacket);
      listed.insert(name);
      r.probes.push_back(std::move(row));
    }
}

// Without a TPACKET version, a versioned status probe is only expected if no sibling fired.
void settle_versioned_probes(Report& r) {
  for (auto& row : r.probes) {
    const int v = anchor_version(row.anchor);
    if (v == 0)
      continue;
    const auto stem = row.anchor.substr(0, row.anchor.find('.'));
    for (const auto& other : r.probes)
      if (&other != &row && anchor_version(other.anchor) != 0 &&
          other.anchor.substr(0, other.anchor.find('.')) == stem && other.fired() > 0 &&
          row.fired() == 0)
        row.expect = Expect::other_version;
  }
}

} // namespace harness::report::builder_detail
