#include "probes/plan_maker.hpp"

#include "base/printable.hpp"
#include "base/sha1.hpp"
#include "probes/anchors.hpp"

#include <algorithm>

namespace harness::probes {
namespace {

// The kernel event anchors (DESIGN.md "Kernel event anchors"); their names come from the
// built-in table only. Optional: a kernel without the function or tracepoint still runs the
// script, and the report then says the probe never fired.
//
// sched.sleep (the sched_switch tracepoint in the contract) is probed at the entry of schedule():
// a stap tracepoint probe makes pass 2 compile the kernel's tracepoint headers (minutes on a
// fresh cache), and only a voluntary switch enters schedule() (preemptions go through
// preempt_schedule*() to __schedule()), with the state the task is about to sleep in already
// set: the same record, DESIGN.md "Kernel event anchors".
std::string event_probe_point(const AnchorDef& a) {
  if (a.kind == AnchorKind::tracepoint)
    return "kernel.function(\"schedule\") ?";
  return "kernel.function(\"" + std::string(a.function) + "\") ?";
}

std::string probe_point(const AnchorDef& a, const FunctionSpan& f, int line, bool optional) {
  if (a.probe_function_entry)
    return "kernel.function(\"" + f.name + "\")";
  return "kernel.statement(\"" + f.name + "@" + std::string(af_packet_path) + ":" +
         std::to_string(line) + "\")" + (optional ? " ?" : "");
}

} // namespace

Result<ProbePlan> make_plan(const LineMap& map_in, ProbeSet set, const PlanOptions& options) {
  // Re-validate through the one strict parser, whatever built the map.
  auto checked = line_map_from_json(line_map_to_json(map_in),
                                    "line map " + printable_bounded(map_in.release, 64));
  if (!checked)
    return std::unexpected(checked.error());
  const LineMap& map = *checked;
  ProbePlan plan;
  plan.kernel = map.release;
  plan.map = map_identity(map);
  plan.source_sha1 = map.source_sha1;
  plan.package = map.package;
  plan.probes = set;

  for (const auto& name : options.skip) {
    const AnchorDef* def = find_any_anchor(name);
    if (!def || !in_set(*def, set) || (!is_kernel_event(*def) && !map.anchor(def->name)->present()))
      return fail(Exit::usage, "anchor " + printable_bounded(name, 64),
                  "cannot be left out: it is not a probed anchor of the " +
                      std::string(to_string(set)) + " set in " + map.release,
                  "name anchors listed in the plan");
    if (def->probe_function_entry)
      return fail(Exit::usage, "anchor " + name, "the function entry probe cannot be left out",
                  "without it the script has no required probe");
  }
  auto skipped = [&](std::string_view name) {
    for (const auto& n : options.skip)
      if (n == name)
        return true;
    return false;
  };

  std::string id_input = map.release + "\n" + map.source_sha1 + "\n" + std::string(to_string(set));
  for (const auto& a : anchors()) {
    if (!in_set(a, set))
      continue;
    const AnchorLocation* loc = map.anchor(a.name);
    const FunctionSpan* fn = map.function(a.function);
    if (!loc->present() || skipped(a.name)) {
      plan.absent.emplace_back(a.name);
      continue;
    }
    PlannedProbe p;
    p.anchor = std::string(a.name);
    p.function = fn->name;
    p.line = loc->line;
    p.statement = a.probe_function_entry ? std::string() : loc->text;
    p.optional = !a.probe_function_entry;
    p.probe_point = probe_point(a, *fn, loc->line, p.optional);
    for (auto f : a.fields)
      p.fields.emplace_back(f);
    id_input += p.probe_point + "\n";
    plan.anchors.push_back(std::move(p));
  }
  for (const auto& a : kernel_event_anchors()) {
    if (!in_set(a, set))
      continue;
    if (skipped(a.name)) {
      plan.absent.emplace_back(a.name);
      continue;
    }
    PlannedProbe p;
    p.anchor = std::string(a.name);
    p.function = std::string(a.function);
    p.optional = true;
    p.probe_point = event_probe_point(a);
    for (auto f : a.fields)
      p.fields.emplace_back(f);
    id_input += p.probe_point + "\n";
    plan.anchors.push_back(std::move(p));
  }
  plan.plan_id = sha1_hex(id_input).substr(0, 16);

  return plan;
}

std::vector<std::string> unneeded_stand_ins(const ProbePlan& plan,
                                            const std::vector<std::string>& unplaceable) {
  auto usable = [&](std::string_view name) {
    return plan.find(name) &&
           std::find(unplaceable.begin(), unplaceable.end(), name) == unplaceable.end();
  };
  std::vector<std::string> out;
  for (const auto& p : plan.anchors) {
    const AnchorDef* def = find_anchor(p.anchor);
    if (!def || !usable(p.anchor))
      continue;
    if (std::any_of(def->stands_in_for.begin(), def->stands_in_for.end(), usable))
      out.push_back(p.anchor);
  }
  return out;
}

} // namespace harness::probes
