#include "kprobe/perf_probe.hpp"

#include "base/files.hpp"
#include "base/sha1.hpp"
#include "probes/field_sources.hpp"
#include "probes/plan_maker.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

namespace harness::kprobe {
namespace {

namespace fs = std::filesystem;
using Fields = std::vector<std::pair<std::string, std::string>>;

// Bump when the way definitions are made changes: old cache entries are then not reused.
constexpr std::string_view kGeneratorVersion = "kprobe-defs-2"; // 2: stand-ins, later lines
// Lines after a function's name line tried for a function-entry anchor (see probe_line()).
constexpr int kEntryLinesTried = 12;

bool event_matches(std::string_view got, std::string_view event) {
  if (got == event)
    return true;
  if (!got.starts_with(event) || got.size() < event.size() + 2 || got[event.size()] != '_')
    return false;
  for (char c : got.substr(event.size() + 1))
    if (c < '0' || c > '9')
      return false;
  return true;
}

Result<PerfAttempt> run_perf(const std::string& perf, const std::vector<std::string>& argv) {
  ChildSpec spec;
  spec.exe = perf;
  spec.args = argv;
  auto r = run_captured(spec, std::chrono::minutes(2));
  if (!r)
    return fail(Exit::tool_missing, perf, r.error().why,
                "install Debian's linux-perf (scripts/install-deps --kernel)");
  PerfAttempt a;
  a.ok = r->status.success() && !r->timed_out && r->out.find("p:") != std::string::npos;
  a.out = std::move(r->out);
  a.err = r->timed_out ? "perf probe timed out" : std::move(r->err);
  return a;
}

std::string first_line(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' '))
    s.remove_prefix(1);
  return std::string(s.substr(0, std::min(s.find('\n'), std::size_t{200})));
}

// The field perf's complaint names: "...has no member pending." or "...the 'ph' variable...".
std::optional<std::size_t> blamed_field(std::string_view err, const Fields& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& expr = fields[i].second;
    std::size_t start = 0;
    bool first = true;
    while (start < expr.size()) {
      std::size_t end = expr.find_first_of(".->", start);
      if (end == std::string::npos)
        end = expr.size();
      const std::string part = expr.substr(start, end - start);
      if (!part.empty()) {
        if (first && err.find("'" + part + "'") != std::string_view::npos)
          return i;
        if (!first && err.find("no member " + part) != std::string_view::npos)
          return i;
        first = false;
      }
      start = end + 1;
    }
  }
  return std::nullopt;
}

class Builder {
public:
  Builder(const KprobeBuildRequest& req, PerfRunner run) : req_(req), run_(std::move(run)) {}

  // rel < 0: the function's entry (kernel functions outside af_packet.c, built at -O2, whose
  // arguments are where DWARF says at the first byte).
  Result<PerfAttempt> attempt(std::string_view event, std::string_view fn, int rel,
                              const Fields& f) {
    ++attempts_;
    return run_({"probe", "-k", req_.vmlinux, "-D", perf_spec(event, fn, rel, f)});
  }

  // A kernel event anchor: a function entry through perf; a tracepoint needs no definition (the
  // session enables it in its instance, kprobe_session.cpp).
  Status add_kernel_event(const probes::PlannedProbe& p, const probes::AnchorDef& def,
                          KprobeBuildResult& res) {
    if (def.kind == probes::AnchorKind::tracepoint)
      return {};
    const std::string event = event_name_for(p.anchor);
    Fields all;
    for (const auto& key : p.fields)
      all.emplace_back(key, fetch_expressions(p.anchor, key).front());
    auto a = attempt(event, def.function, -1, all);
    if (!a)
      return std::unexpected(a.error());
    if (!a->ok) {
      for (const auto& key : p.fields)
        res.defs.unfetchable.push_back({p.anchor, key});
      a = attempt(event, def.function, -1, {});
      if (!a)
        return std::unexpected(a.error());
      if (!a->ok)
        return drop(p, first_line(a->err), res);
    }
    points[p.anchor] = std::string(def.function);
    return add_events(a->out, p.anchor, event, res);
  }

  // The line to probe for a planned anchor, relative to its function's name line. An entry
  // anchor is probed on the first line of the body perf can place: at the first byte of an -O0
  // function the arguments are not yet where DWARF says (docs/tracing-notes.md "kprobe events and
  // perf").
  // An anchor that may move to a later line (AnchorDef::later_lines) takes the first of its
  // line and those lines perf can place, within the function.
  Result<std::optional<int>> probe_line(const probes::PlannedProbe& p,
                                        const probes::FunctionSpan& fn,
                                        const probes::AnchorDef& def, std::string& why) {
    if (!def.probe_function_entry && def.later_lines == 0)
      return std::optional<int>(p.line - fn.start);
    const int first = def.probe_function_entry ? 1 : p.line - fn.start;
    const int last = def.probe_function_entry
                         ? kEntryLinesTried
                         : std::min(first + def.later_lines, fn.end - fn.start - 1);
    const std::string event = event_name_for(p.anchor);
    for (int rel = first; rel <= last; ++rel) {
      auto a = attempt(event, p.function, rel, {});
      if (!a)
        return std::unexpected(a.error());
      if (a->ok)
        return std::optional<int>(rel);
      why = first_line(a->err);
    }
    return std::optional<int>();
  }

  Status add_anchor(const probes::PlannedProbe& p, KprobeBuildResult& res) {
    if (const probes::AnchorDef* ev = probes::find_any_anchor(p.anchor);
        ev && probes::is_kernel_event(*ev))
      return add_kernel_event(p, *ev, res);
    const probes::AnchorDef* def = probes::find_anchor(p.anchor);
    const probes::FunctionSpan* fn = def ? req_.map.function(def->function) : nullptr;
    if (!def || !fn)
      return fail(Exit::usage, "plan anchor " + p.anchor, "not in the kernel's line map",
                  "the plan and the map are from different kernels; regenerate the plan");
    if (!def->stands_in_for.empty() && primary_placed(p, res)) {
      unneeded.push_back(p.anchor);
      if (req_.on_progress)
        req_.on_progress(p.anchor + " not probed: an anchor it stands in for is placed and sees "
                                    "the status store itself");
      return {};
    }
    std::string why;
    auto line = probe_line(p, *fn, *def, why);
    if (!line)
      return std::unexpected(line.error());
    if (!*line)
      return drop(p, why, res);
    const std::string event = event_name_for(p.anchor);
    points[p.anchor] = fn->name + ":" + std::to_string(**line);
    auto a = attempt_fields(event, fn->name, **line, p, res);
    if (!a)
      return std::unexpected(a.error());
    if (!a->ok)
      return drop(p, first_line(a->err), res);
    return add_events(a->out, p.anchor, event, res);
  }

  // For a stand-in (AnchorDef::stands_in_for): whether an anchor it stands in for is placed
  // with every field readable (one that cannot read the status would not see the store). The
  // rule is the plan's, as for stap (probes::unneeded_stand_ins); unusable here is what perf has
  // not placed so far, or placed with a field it cannot read.
  bool primary_placed(const probes::PlannedProbe& p, const KprobeBuildResult& res) const {
    std::vector<std::string> unusable;
    for (const auto& q : req_.plan.anchors)
      if (q.anchor != p.anchor && !points.contains(q.anchor))
        unusable.push_back(q.anchor);
    for (const auto& u : res.defs.unfetchable)
      unusable.push_back(u.anchor);
    const auto out = probes::unneeded_stand_ins(req_.plan, unusable);
    return std::find(out.begin(), out.end(), p.anchor) != out.end();
  }

  // All of the anchor's fields at once; when perf names the one it cannot locate ("has no member
  // pending", "the 'x' variable"), that one is tried in its next spelling or given up and the
  // rest retried; when it does not say, each field is tried alone.
  Result<PerfAttempt> attempt_fields(const std::string& event, const std::string& fn, int rel,
                                     const probes::PlannedProbe& p, KprobeBuildResult& res) {
    std::vector<std::pair<std::string, std::vector<std::string>>> todo;
    for (const auto& key : p.fields)
      todo.emplace_back(key, fetch_expressions(p.anchor, key));
    for (std::size_t round = 0; round <= 2 * todo.size() + 1; ++round) {
      Fields current;
      for (const auto& [key, exprs] : todo)
        current.emplace_back(key, exprs.front());
      auto a = attempt(event, fn, rel, current);
      if (!a || a->ok)
        return a;
      const auto culprit = blamed_field(a->err, current);
      if (!culprit)
        break;
      auto& exprs = todo[*culprit].second;
      exprs.erase(exprs.begin());
      if (exprs.empty()) {
        res.defs.unfetchable.push_back({p.anchor, todo[*culprit].first});
        todo.erase(todo.begin() + static_cast<std::ptrdiff_t>(*culprit));
      }
    }
    // perf did not say which: each field alone.
    Fields usable;
    for (const auto& [key, exprs] : todo) {
      bool found = false;
      for (const auto& expr : exprs) {
        auto one = attempt(event, fn, rel, {{key, expr}});
        if (!one)
          return std::unexpected(one.error());
        if (one->ok) {
          usable.emplace_back(key, expr);
          found = true;
          break;
        }
      }
      if (!found)
        res.defs.unfetchable.push_back({p.anchor, key});
    }
    return attempt(event, fn, rel, usable);
  }

  // The definitions perf printed for a placed anchor, every address of it.
  static Status add_events(std::string_view out, const std::string& anchor,
                           const std::string& event, KprobeBuildResult& res) {
    auto events = events_from_perf_output(out, anchor, event);
    if (!events)
      return std::unexpected(events.error());
    for (auto& e : *events)
      res.defs.events.push_back(std::move(e));
    return {};
  }

  Status drop(const probes::PlannedProbe& p, const std::string& why, KprobeBuildResult& res) {
    res.defs.dropped.push_back(p.anchor);
    points.erase(p.anchor);
    std::erase_if(res.defs.unfetchable, [&](const Unfetchable& u) { return u.anchor == p.anchor; });
    if (!req_.on_progress)
      return {};
    std::string then = "its phase will be missing";
    if (const auto stand_ins = probes::stand_ins_for(p.anchor); !stand_ins.empty()) {
      then = "its phase is left to";
      for (auto s : stand_ins)
        then += " " + std::string(s);
    }
    req_.on_progress("perf cannot place " + p.anchor + " (" + p.function + " line " +
                     std::to_string(p.line) + "): " + why + "; " + then);
    return {};
  }

  int attempts() const { return attempts_; }
  std::map<std::string, std::string> points; // anchor -> FUNC:RELATIVE_LINE perf probed
  std::vector<std::string> unneeded;         // stand-ins left out: what they stand in for is placed

private:
  const KprobeBuildRequest& req_;
  PerfRunner run_;
  int attempts_ = 0;
};

std::string perf_version(const std::string& perf) {
  ChildSpec spec;
  spec.exe = perf;
  spec.args = {"--version"};
  auto r = run_captured(spec, std::chrono::seconds(30));
  if (!r || !r->status.success())
    return "unknown";
  return first_line(r->out);
}

// The plan as the tracer will run it: dropped anchors are absent, unfetchable keys unreadable.
probes::ProbePlan adjusted_plan(const probes::ProbePlan& in, const KprobeDefs& defs,
                                const std::map<std::string, std::string>& points,
                                const std::vector<std::string>& unneeded) {
  probes::ProbePlan out = in;
  out.anchors.clear();
  for (const auto& p : in.anchors) {
    bool dropped = std::find(unneeded.begin(), unneeded.end(), p.anchor) != unneeded.end();
    for (const auto& d : defs.dropped)
      dropped = dropped || d == p.anchor;
    if (dropped) {
      out.absent.push_back(p.anchor);
      continue;
    }
    probes::PlannedProbe q = p;
    if (auto it = points.find(p.anchor); it != points.end())
      q.probe_point = it->second;
    for (const auto& u : defs.unfetchable)
      if (u.anchor == p.anchor)
        q.unreadable.push_back(u.key);
    out.anchors.push_back(std::move(q));
  }
  return out;
}

// A cache entry holds its definitions as defs.kprobes, and their plan as an artifact's.
std::string cached_defs_path(const std::string& entry) {
  return entry + "/defs" + std::string(defs_suffix);
}

Status copy_out(const std::string& from_dir, const KprobeBuildRequest& req,
                KprobeBuildResult& res) {
  if (auto s = make_dirs(req.out_dir); !s)
    return s;
  res.defs_path = req.out_dir + "/" + req.name + std::string(defs_suffix);
  res.plan_path = probes::artifact_plan_path(res.defs_path);
  if (from_dir.empty())
    return {};
  for (const auto& [from, to] :
       {std::pair{cached_defs_path(from_dir), res.defs_path},
        std::pair{probes::artifact_plan_path(cached_defs_path(from_dir)), res.plan_path}}) {
    auto text = read_file(from);
    if (!text)
      return std::unexpected(text.error());
    if (auto s = write_file_atomic(to, *text); !s)
      return s;
  }
  return {};
}

} // namespace

std::vector<std::string> fetch_expressions(std::string_view anchor, std::string_view key) {
  const probes::FieldSource* src = probes::field_source(anchor, key);
  // A key no variable holds (`state`: the sched_switch tracepoint's, never fetched by perf)
  // keeps its name, as a local would be asked for.
  if (!src)
    return {std::string(key)};
  std::vector<std::string> exprs;
  for (auto path : src->paths)
    if (!path.empty())
      exprs.emplace_back(path); // perf probe reads the C spelling as it is
  return exprs;
}

std::string perf_spec(std::string_view event, std::string_view function, int relative_line,
                      const Fields& fields) {
  std::string s = std::string(event) + "=" + std::string(function) +
                  (relative_line < 0 ? std::string() : ":" + std::to_string(relative_line));
  for (const auto& [key, expr] : fields)
    s += " " + key + "=" + expr;
  return s;
}

Result<std::vector<KprobeEvent>>
events_from_perf_output(std::string_view out, std::string_view anchor, std::string_view event) {
  std::vector<KprobeEvent> events;
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t nl = out.find('\n', start);
    if (nl == std::string_view::npos)
      nl = out.size();
    const std::string_view line = out.substr(start, nl - start);
    start = nl + 1;
    if (!line.starts_with("p:"))
      continue;
    auto d = parse_perf_definition(line);
    if (!d)
      return std::unexpected(d.error());
    if (!event_matches(d->event, event))
      return fail(Exit::tracer_failed, "perf probe output",
                  "event '" + d->event + "' where " + std::string(event) + " was asked for",
                  "run the same `perf probe -D` by hand to see it");
    // Copies get their own names: EVENT, EVENT_1, ... (perf -D repeats the name when one line
    // has several addresses; it numbers them only when it installs them itself).
    std::string name = events.empty() ? std::string(event)
                                      : std::string(event) + "_" + std::to_string(events.size());
    events.push_back({std::string(anchor), std::move(name), d->probe, d->args});
  }
  if (events.empty())
    return fail(Exit::tracer_failed, "perf probe output", "no definition for " + std::string(event),
                "run the same `perf probe -D` by hand to see it");
  return events;
}

namespace {

// What perf is asked to fetch for each planned field (probes/field_sources.hpp): part of the
// cache key, so that a new spelling (a kernel's struct path) is tried instead of reusing
// definitions made without it.
std::string spellings_asked(const probes::ProbePlan& plan) {
  std::string s;
  for (const auto& p : plan.anchors)
    for (const auto& key : p.fields) {
      s += p.anchor + " " + key + "=";
      for (const auto& e : fetch_expressions(p.anchor, key))
        s += e + "|";
      s += "\n";
    }
  return s;
}

} // namespace

Result<KprobeBuildResult> build_kprobe_defs(const KprobeBuildRequest& req) {
  const auto t0 = std::chrono::steady_clock::now();
  KprobeBuildResult res;
  // Both outputs are checked before perf runs: a refused NAME.plan.json must not leave a
  // NAME.kprobes without its plan, nor come after minutes of perf calls.
  if (auto s = copy_out("", req, res); !s)
    return std::unexpected(s.error());
  for (const auto& path : {res.defs_path, res.plan_path})
    if (auto s = check_output_path(path, ""); !s)
      return std::unexpected(s.error());
  const std::string version = req.runner ? "test runner" : perf_version(req.perf);
  const std::string key =
      sha1_hex(std::string(kGeneratorVersion) + "\n" + req.build_id + "\n" + version + "\n" +
               req.map.source_sha1 + "\n" + probes::plan_to_json(req.plan) + "\n" +
               spellings_asked(req.plan))
          .substr(0, 20);
  const std::string cached = req.cache_dir.empty() ? "" : req.cache_dir + "/kprobes/" + key;
  if (req.use_cache && !cached.empty() && fs::exists(cached_defs_path(cached))) {
    auto defs = load_defs(cached_defs_path(cached));
    auto plan = probes::load_plan(probes::artifact_plan_path(cached_defs_path(cached)));
    if (defs && plan) {
      res.defs = std::move(*defs);
      res.plan = std::move(*plan);
      res.cache_hit = true;
      if (auto s = copy_out(cached, req, res); !s)
        return std::unexpected(s.error());
      return res;
    }
  }

  PerfRunner runner = req.runner ? req.runner : [&](const std::vector<std::string>& argv) {
    return run_perf(req.perf, argv);
  };
  Builder b(req, runner);
  res.defs.kernel = req.release;
  res.defs.build_id = req.build_id;
  res.defs.plan_id = req.plan.plan_id;
  res.defs.perf = version;
  for (const auto& p : req.plan.anchors)
    if (auto s = b.add_anchor(p, res); !s)
      return std::unexpected(s.error());
  if (res.defs.events.empty())
    return fail(Exit::tracer_failed, "perf probe -k " + req.vmlinux,
                "placed none of the plan's " + std::to_string(req.plan.anchors.size()) + " probes",
                "check that the vmlinux has DWARF (CONFIG_DEBUG_INFO) and is the kernel the map "
                "is for (`harness verify`)");
  res.plan = adjusted_plan(req.plan, res.defs, b.points, b.unneeded);
  if (req.on_progress)
    req.on_progress("perf probe: " + std::to_string(res.defs.events.size()) + " event(s) for " +
                    std::to_string(res.plan.anchors.size()) + " anchor(s), " +
                    std::to_string(res.defs.unfetchable.size()) + " unreadable field(s), " +
                    std::to_string(b.attempts()) + " perf call(s)");

  const std::string staged = cached.empty() ? "" : cached;
  if (!staged.empty() && req.use_cache) {
    if (auto s = make_dirs(staged); !s)
      return std::unexpected(s.error());
    if (auto s = save_defs(cached_defs_path(staged), res.defs); !s)
      return std::unexpected(s.error());
    if (auto s = probes::save_plan(probes::artifact_plan_path(cached_defs_path(staged)), res.plan);
        !s)
      return std::unexpected(s.error());
  }
  if (auto s = copy_out("", req, res); !s)
    return std::unexpected(s.error());
  if (auto s = save_defs(res.defs_path, res.defs); !s)
    return std::unexpected(s.error());
  if (auto s = probes::save_plan(res.plan_path, res.plan); !s)
    return std::unexpected(s.error());
  res.elapsed_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  return res;
}

} // namespace harness::kprobe
