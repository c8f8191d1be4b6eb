#include "probes/probe_plan.hpp"

#include "base/files.hpp"
#include "base/json_file.hpp"
#include "probes/json_fields.hpp"
#include "probes/line_map.hpp"

#include <algorithm>
#include <set>

namespace harness::probes {
namespace {

using jsonf::json;

bool valid_plan_id(std::string_view s) {
  if (s.size() != 16)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

std::string_view to_string(ProbeSet set) {
  switch (set) {
  case ProbeSet::status:
    return "status";
  case ProbeSet::call_return:
    return "call-return";
  case ProbeSet::all:
    return "all";
  }
  return "status";
}

Result<ProbeSet> parse_probe_set(std::string_view text) {
  if (text == "status")
    return ProbeSet::status;
  if (text == "call-return" || text == "call_return")
    return ProbeSet::call_return;
  if (text == "all")
    return ProbeSet::all;
  return fail(Exit::usage, "--probes " + std::string(text.substr(0, 40)), "unknown probe set",
              "use status, call-return or all");
}

bool in_set(const AnchorDef& a, ProbeSet set) {
  switch (set) {
  case ProbeSet::status:
    return a.in_status;
  case ProbeSet::call_return:
    return a.in_call_return;
  case ProbeSet::all:
    return a.in_status || a.in_call_return;
  }
  return false;
}

const PlannedProbe* ProbePlan::find(std::string_view anchor) const {
  for (const auto& p : anchors)
    if (p.anchor == anchor)
      return &p;
  return nullptr;
}

std::string script_plan_path(const std::string& script_path) {
  return script_path + ".plan.json";
}

std::string plan_to_json(const ProbePlan& p) {
  using ojson = nlohmann::ordered_json;
  ojson j = ojson::object();
  j["schema"] = plan_schema;
  j["plan_id"] = p.plan_id;
  j["kernel"] = p.kernel;
  j["map"] = p.map;
  j["source_sha1"] = p.source_sha1;
  j["package"] = p.package;
  j["probes"] = to_string(p.probes);
  ojson list = ojson::array();
  for (const auto& a : p.anchors) {
    ojson o = ojson::object();
    o["anchor"] = a.anchor;
    o["function"] = a.function;
    o["line"] = a.line;
    o["statement"] = a.statement;
    o["probe_point"] = a.probe_point;
    o["optional"] = a.optional;
    o["fields"] = a.fields;
    if (!a.unreadable.empty())
      o["unreadable"] = a.unreadable;
    list.push_back(std::move(o));
  }
  j["anchors"] = std::move(list);
  j["absent"] = p.absent;
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

namespace {

// The plan's identity: schema, plan id, kernel, map, source, package and probe set.
Result<ProbePlan> plan_header_from_json(const json& j, std::string_view origin) {
  ProbePlan p;
  std::string schema, probes;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"schema", &schema},
                           {"plan_id", &p.plan_id},
                           {"kernel", &p.kernel},
                           {"map", &p.map},
                           {"source_sha1", &p.source_sha1},
                           {"package", &p.package},
                           {"probes", &probes}}) {
    auto v = jsonf::str(j, key, origin, "");
    if (!v)
      return std::unexpected(v.error());
    if (!jsonf::clean_text(*v, 300))
      return jsonf::bad(origin, key, "control characters or longer than 300");
    *dest = std::move(*v);
  }
  if (schema != plan_schema)
    return jsonf::bad(origin, "schema",
                      "'" + schema.substr(0, 40) + "' is not " + std::string(plan_schema));
  if (!valid_plan_id(p.plan_id))
    return jsonf::bad(origin, "plan_id", "expected 16 lowercase hex digits");
  if (!valid_release(p.kernel))
    return jsonf::bad(origin, "kernel", "not a kernel release");
  if (!valid_sha1(p.source_sha1))
    return jsonf::bad(origin, "source_sha1", "expected 40 lowercase hex digits");
  auto set = parse_probe_set(probes);
  if (!set)
    return jsonf::bad(origin, "probes", "'" + probes.substr(0, 40) + "' is not a probe set");
  p.probes = *set;
  return p;
}

// A planned anchor's fields and, optionally, those the tracer cannot read on this kernel (they
// print `?`).
Status probe_fields_from_json(const json& a, std::string_view origin, const std::string& where,
                              PlannedProbe& pp) {
  auto fields = a.find("fields");
  if (fields == a.end() || !fields->is_array())
    return jsonf::bad(origin, where + ".fields", "missing or not an array");
  for (const auto& fv : *fields) {
    if (!fv.is_string() || !jsonf::clean_text(fv.get<std::string>(), 40))
      return jsonf::bad(origin, where + ".fields", "expected short strings");
    pp.fields.push_back(fv.get<std::string>());
  }
  if (auto unr = a.find("unreadable"); unr != a.end()) {
    if (!unr->is_array())
      return jsonf::bad(origin, where + ".unreadable", "not an array");
    for (const auto& uv : *unr) {
      if (!uv.is_string() ||
          std::find(pp.fields.begin(), pp.fields.end(), uv.get<std::string>()) == pp.fields.end())
        return jsonf::bad(origin, where + ".unreadable", "expected names from .fields");
      pp.unreadable.push_back(uv.get<std::string>());
    }
  }
  return {};
}

// One entry of `anchors` (`where`); `seen` holds the anchors listed before it.
Result<PlannedProbe> planned_probe_from_json(const json& a, std::string_view origin,
                                             const std::string& where,
                                             std::set<std::string>& seen) {
  if (!a.is_object())
    return jsonf::bad(origin, where, "expected an object");
  if (auto s = jsonf::only_keys(a,
                                {"anchor", "function", "line", "statement", "probe_point",
                                 "optional", "fields", "unreadable"},
                                origin, where);
      !s)
    return std::unexpected(s.error());
  PlannedProbe pp;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"anchor", &pp.anchor},
                           {"function", &pp.function},
                           {"statement", &pp.statement},
                           {"probe_point", &pp.probe_point}}) {
    auto v = jsonf::str(a, key, origin, where);
    if (!v)
      return std::unexpected(v.error());
    if (!jsonf::clean_text(*v, 400))
      return jsonf::bad(origin, where + "." + key, "control characters or longer than 400");
    *dest = std::move(*v);
  }
  const AnchorDef* def = find_any_anchor(pp.anchor);
  if (!def)
    return jsonf::bad(origin, where + ".anchor",
                      "'" + pp.anchor.substr(0, 64) + "' is not a known anchor");
  if (!seen.insert(pp.anchor).second)
    return jsonf::bad(origin, where + ".anchor", pp.anchor + " listed twice");
  // A kernel event anchor names its kernel function or tracepoint and has no line (0).
  const bool event = is_kernel_event(*def);
  const FunctionDef* f = event ? nullptr : find_function(pp.function);
  if (event ? pp.function != def->function : (!f || f->canonical != def->function))
    return jsonf::bad(origin, where + ".function",
                      "'" + pp.function.substr(0, 64) + "' is not where " + pp.anchor + " lives");
  auto line = jsonf::integer(a, "line", origin, where, event ? 0 : 1, event ? 0 : 1'000'000);
  if (!line)
    return std::unexpected(line.error());
  pp.line = static_cast<int>(*line);
  auto opt = a.find("optional");
  if (opt == a.end() || !opt->is_boolean())
    return jsonf::bad(origin, where + ".optional", "missing or not true/false");
  pp.optional = opt->get<bool>();
  if (auto s = probe_fields_from_json(a, origin, where, pp); !s)
    return std::unexpected(s.error());
  return pp;
}

// `absent`: the anchors of the set that this kernel does not have.
Result<std::vector<std::string>> plan_absent_from_json(const json& j, std::string_view origin) {
  auto absent = j.find("absent");
  if (absent == j.end() || !absent->is_array())
    return jsonf::bad(origin, "absent", "missing or not an array");
  std::vector<std::string> out;
  for (const auto& av : *absent) {
    if (!av.is_string() || !find_any_anchor(av.get<std::string>()))
      return jsonf::bad(origin, "absent", "expected anchor names");
    out.push_back(av.get<std::string>());
  }
  return out;
}

} // namespace

Result<ProbePlan> plan_from_json(std::string_view text, std::string_view origin) {
  auto parsed = jsonf::parse(text, origin);
  if (!parsed)
    return std::unexpected(parsed.error());
  const json& j = *parsed;
  if (auto s = jsonf::only_keys(j,
                                {"schema", "plan_id", "kernel", "map", "source_sha1", "package",
                                 "probes", "anchors", "absent"},
                                origin, "");
      !s)
    return std::unexpected(s.error());
  auto p = plan_header_from_json(j, origin);
  if (!p)
    return p;
  auto list = j.find("anchors");
  if (list == j.end() || !list->is_array())
    return jsonf::bad(origin, "anchors", "missing or not an array");
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    auto pp =
        planned_probe_from_json((*list)[i], origin, "anchors[" + std::to_string(i) + "]", seen);
    if (!pp)
      return std::unexpected(pp.error());
    p->anchors.push_back(std::move(*pp));
  }
  auto absent = plan_absent_from_json(j, origin);
  if (!absent)
    return std::unexpected(absent.error());
  p->absent = std::move(*absent);
  return p;
}

Result<ProbePlan> load_plan(const std::string& path) {
  return load_json_file(path, plan_from_json);
}

Status save_plan(const std::string& path, const ProbePlan& plan) {
  return write_file_atomic(path, plan_to_json(plan));
}

std::string artifact_plan_path(const std::string& artifact_path) {
  // The file name's last extension, whichever tracer's it is (.ko, .kprobes), gives way to the
  // plan's; a name that is all extension (".ko") or has none keeps it.
  const auto name = artifact_path.rfind('/') + 1; // 0 without a '/'
  const auto dot = artifact_path.rfind('.');
  if (dot == std::string::npos || dot <= name)
    return artifact_path + ".plan.json";
  return artifact_path.substr(0, dot) + ".plan.json";
}

std::string run_plan_path(const std::string& run_dir) {
  return run_dir + "/plan.json";
}

} // namespace harness::probes
