#include "kprobe/perf_anchor.hpp"

#include "probes/anchors.hpp"
#include "probes/plan_maker.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <thread>

namespace harness::kprobe::detail {
namespace {

// Lines after a function's name line tried for a function-entry anchor (see probe_line()).
constexpr int kEntryLinesTried = 12;

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

// Whether perf refused the line itself, whatever the fields ("This line is sharing the address
// with other lines.", "Probe point 'f:3' not found.", "Failed to find the address of f:3"): no
// field is worth a call of its own then (an inlined function's lines at -O2, which
// `perf probe -L` still numbers).
bool line_refused(std::string_view err) {
  return err.find("sharing the address with other lines") != std::string_view::npos ||
         (err.find("Probe point '") != std::string_view::npos &&
          err.find("' not found") != std::string_view::npos) ||
         err.find("Failed to find the address of") != std::string_view::npos;
}

// For a stand-in (AnchorDef::stands_in_for): whether an anchor it stands in for is placed with
// every field readable (one that cannot read the status would not see the store). The rule is
// the plan's, as for stap (probes::unneeded_stand_ins); unusable here is what the first wave did
// not place, or placed with a field perf cannot read.
bool primary_placed(const probes::ProbePlan& plan, const probes::PlannedProbe& p,
                    const PlacedSoFar& placed) {
  std::vector<std::string> unusable;
  for (const auto& q : plan.anchors)
    if (q.anchor != p.anchor && !placed.points.contains(q.anchor))
      unusable.push_back(q.anchor);
  for (const auto& u : placed.unfetchable)
    unusable.push_back(u.anchor);
  const auto out = probes::unneeded_stand_ins(plan, unusable);
  return std::find(out.begin(), out.end(), p.anchor) != out.end();
}

class Placer {
public:
  Placer(const KprobeBuildRequest& req, const PerfRunner& run, const probes::PlannedProbe& p,
         const PlacedSoFar& placed, AnchorOutcome& out)
      : req_(req), run_(run), p_(p), placed_(placed), out_(out), event_(event_name_for(p.anchor)) {}

  Status place() {
    const PlacedSoFar& placed = placed_;
    if (const probes::AnchorDef* ev = probes::find_any_anchor(p_.anchor);
        ev && probes::is_kernel_event(*ev))
      return add_kernel_event(*ev);
    const probes::AnchorDef* def = probes::find_anchor(p_.anchor);
    const probes::FunctionSpan* fn = def ? req_.map.function(def->function) : nullptr;
    if (!def || !fn)
      return fail(Exit::usage, "plan anchor " + p_.anchor, "not in the kernel's line map",
                  "the plan and the map are from different kernels; regenerate the plan");
    if (!def->stands_in_for.empty() && primary_placed(req_.plan, p_, placed)) {
      out_.unneeded = true;
      out_.notes.push_back(p_.anchor + " not probed: an anchor it stands in for is placed and "
                                       "sees the status store itself");
      return {};
    }
    std::string why = "perf probe -L " + fn->name + " lists no address for its line";
    auto line = probe_line(*fn, *def, why);
    if (!line)
      return std::unexpected(line.error());
    if (!*line)
      return drop(why);
    out_.point = fn->name + ":" + std::to_string(**line);
    auto a = attempt_fields(fn->name, **line);
    if (!a)
      return std::unexpected(a.error());
    if (!a->ok)
      return drop(first_line(a->err));
    return add_events(a->out);
  }

private:
  // rel < 0: the function's entry (kernel functions outside af_packet.c, built at -O2, whose
  // arguments are where DWARF says at the first byte).
  Result<PerfAttempt> attempt(std::string_view fn, int rel, const Fields& f) {
    ++out_.attempts;
    return run_({"probe", "-k", req_.vmlinux, "-D", perf_spec(event_, fn, rel, f)});
  }

  // A kernel event anchor: a function entry through perf; a tracepoint needs no definition (the
  // session enables it in its instance, kprobe_session.cpp).
  Status add_kernel_event(const probes::AnchorDef& def) {
    if (def.kind == probes::AnchorKind::tracepoint)
      return {};
    Fields all;
    for (const auto& key : p_.fields)
      all.emplace_back(key, fetch_expressions(p_.anchor, key).front());
    auto a = attempt(def.function, -1, all);
    if (!a)
      return std::unexpected(a.error());
    if (!a->ok) {
      for (const auto& key : p_.fields)
        out_.unfetchable.push_back({p_.anchor, key});
      a = attempt(def.function, -1, {});
      if (!a)
        return std::unexpected(a.error());
      if (!a->ok)
        return drop(first_line(a->err));
    }
    out_.point = std::string(def.function);
    return add_events(a->out);
  }

  // The line to probe, relative to its function's name line. An entry anchor is probed on the
  // first line of the body perf can place: at the first byte of an -O0 function the arguments
  // are not yet where DWARF says (docs/tracing-notes.md "kprobe events and perf"). An anchor
  // that may move to a later line (AnchorDef::later_lines) takes the first of its line and those
  // lines perf can place, within the function.
  Result<std::optional<int>> probe_line(const probes::FunctionSpan& fn,
                                        const probes::AnchorDef& def, std::string& why) {
    const int first = def.probe_function_entry ? 1 : p_.line - fn.start;
    if (!def.probe_function_entry && def.later_lines == 0)
      return listed(fn.name, first) ? std::optional<int>(first) : std::optional<int>();
    const int last = def.probe_function_entry
                         ? kEntryLinesTried
                         : std::min(first + def.later_lines, fn.end - fn.start - 1);
    for (int rel = first; rel <= last; ++rel) {
      if (!listed(fn.name, rel))
        continue;
      auto a = attempt(p_.function, rel, {});
      if (!a)
        return std::unexpected(a.error());
      if (a->ok)
        return std::optional<int>(rel);
      why = first_line(a->err);
    }
    return std::optional<int>();
  }

  // Whether `rel` may have an address: listed by perf probe -L, or no listing to go by.
  bool listed(const std::string& fn, int rel) const {
    const auto it = placed_.lines.find(fn);
    return it == placed_.lines.end() || it->second.contains(rel);
  }

  using Todo = std::vector<std::pair<std::string, std::vector<std::string>>>;

  // All of the anchor's fields at once; when perf names the one it cannot locate ("has no member
  // pending", "the 'x' variable"), that one is tried in its next spelling or given up and the
  // rest retried; when it does not say, each field is tried alone. Where the first try fails
  // (an optimised function: variables without a location there), perf is asked once which
  // variables it sees at the line, and spellings starting from any other are not tried: each
  // call costs about a second of DWARF reading (docs/DESIGN.md "kprobe tracer").
  Result<PerfAttempt> attempt_fields(const std::string& fn, int rel) {
    Todo todo;
    for (const auto& key : p_.fields)
      todo.emplace_back(key, fetch_expressions(p_.anchor, key));
    Fields first_try;
    for (const auto& [key, exprs] : todo)
      first_try.emplace_back(key, exprs.front());
    auto a = attempt(fn, rel, first_try);
    if (!a || a->ok || todo.empty() || line_refused(a->err))
      return a;
    auto listed = keep_visible(fn, rel, todo);
    if (!listed)
      return std::unexpected(listed.error());
    if (!*listed) {
      // No list: perf may not place the line at all ("sharing the address with other lines",
      // "Probe point ... not found"); then no field needs a call of its own.
      auto bare = attempt(fn, rel, {});
      if (!bare || !bare->ok)
        return bare;
    }
    return attempt_remaining(fn, rel, todo, {first_try, *a});
  }

  // Drops the spellings whose variable `perf probe -V` does not list at the line; a field left
  // with none is unfetchable. Whether perf gave a list; nothing is dropped when it did not.
  Result<bool> keep_visible(const std::string& fn, int rel, Todo& todo) {
    ++out_.attempts;
    auto v = run_({"probe", "-k", req_.vmlinux, "-V", fn + ":" + std::to_string(rel)});
    if (!v)
      return std::unexpected(v.error());
    const auto visible = visible_variables(v->out);
    if (!visible)
      return false;
    for (auto it = todo.begin(); it != todo.end();) {
      std::erase_if(it->second,
                    [&](const std::string& e) { return !visible->contains(base_variable(e)); });
      if (!it->second.empty()) {
        ++it;
        continue;
      }
      out_.unfetchable.push_back({p_.anchor, it->first});
      it = todo.erase(it);
    }
    return true;
  }

  // The retries of attempt_fields; `known`: fields already tried and perf's answer (not asked
  // again when -V left them as they were).
  Result<PerfAttempt> attempt_remaining(const std::string& fn, int rel, Todo& todo,
                                        const std::pair<Fields, PerfAttempt>& known) {
    for (std::size_t round = 0; round <= 2 * todo.size() + 1; ++round) {
      Fields current;
      for (const auto& [key, exprs] : todo)
        current.emplace_back(key, exprs.front());
      auto a =
          current == known.first ? Result<PerfAttempt>(known.second) : attempt(fn, rel, current);
      if (!a || a->ok)
        return a;
      const auto culprit = blamed_field(a->err, current);
      if (!culprit)
        break;
      auto& exprs = todo[*culprit].second;
      exprs.erase(exprs.begin());
      if (exprs.empty()) {
        out_.unfetchable.push_back({p_.anchor, todo[*culprit].first});
        todo.erase(todo.begin() + static_cast<std::ptrdiff_t>(*culprit));
      }
    }
    // perf did not say which: each field alone.
    Fields usable;
    for (const auto& [key, exprs] : todo) {
      bool found = false;
      for (const auto& expr : exprs) {
        auto one = attempt(fn, rel, {{key, expr}});
        if (!one)
          return std::unexpected(one.error());
        if (one->ok) {
          usable.emplace_back(key, expr);
          found = true;
          break;
        }
      }
      if (!found)
        out_.unfetchable.push_back({p_.anchor, key});
    }
    return attempt(fn, rel, usable);
  }

  // The definitions perf printed for a placed anchor, every address of it.
  Status add_events(std::string_view perf_out) {
    auto events = events_from_perf_output(perf_out, p_.anchor, event_);
    if (!events)
      return std::unexpected(events.error());
    for (auto& e : *events)
      out_.events.push_back(std::move(e));
    return {};
  }

  Status drop(const std::string& why) {
    out_.dropped = true;
    out_.point.reset();
    out_.unfetchable.clear();
    std::string then = "its phase will be missing";
    if (const auto stand_ins = probes::stand_ins_for(p_.anchor); !stand_ins.empty()) {
      then = "its phase is left to";
      for (auto s : stand_ins)
        then += " " + std::string(s);
    }
    out_.notes.push_back("perf cannot place " + p_.anchor + " (" + p_.function + " line " +
                         std::to_string(p_.line) + "): " + why + "; " + then);
    return {};
  }

  const KprobeBuildRequest& req_;
  const PerfRunner& run_;
  const probes::PlannedProbe& p_;
  const PlacedSoFar& placed_;
  AnchorOutcome& out_;
  const std::string event_;
};

using Outcomes = std::vector<std::optional<Result<AnchorOutcome>>>;

bool is_stand_in(const probes::PlannedProbe& p) {
  const probes::AnchorDef* def = probes::find_anchor(p.anchor);
  return def && !def->stands_in_for.empty();
}

// job(k) for k in [0, n), `jobs` at a time (this thread is one of them); once a job returns
// false no further one is started.
template <class Job> void run_parallel(std::size_t n, int jobs, Job&& job) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (std::size_t k = next++; k < n && !failed; k = next++)
      if (!job(k))
        failed = true;
  };
  std::vector<std::jthread> others;
  const int threads = std::min(jobs, static_cast<int>(n));
  for (int t = 1; t < threads; ++t)
    others.emplace_back(work);
  work();
}

// place_anchor for the plan's anchors at `indices`.
void place_wave(const KprobeBuildRequest& req, const PerfRunner& run,
                const std::vector<std::size_t>& indices, const PlacedSoFar& placed, int jobs,
                Outcomes& outcomes) {
  run_parallel(indices.size(), jobs, [&](std::size_t k) {
    const std::size_t i = indices[k];
    try {
      outcomes[i] = place_anchor(req, run, req.plan.anchors[i], placed);
    } catch (const std::exception& e) {
      outcomes[i] = fail(Exit::internal, "placing " + req.plan.anchors[i].anchor, e.what());
    }
    return outcomes[i]->has_value();
  });
}

// `perf probe -L FUNC` for each function an anchor of the plan is in: one call per function
// instead of one per line that has no address. A function perf does not list is left out.
Result<std::map<std::string, std::set<int>>>
listed_lines(const KprobeBuildRequest& req, const PerfRunner& run, int jobs, int& attempts) {
  std::set<std::string> names;
  for (const auto& p : req.plan.anchors)
    if (const probes::AnchorDef* def = probes::find_anchor(p.anchor))
      if (const probes::FunctionSpan* fn = req.map.function(def->function))
        names.insert(fn->name);
  const std::vector<std::string> fns(names.begin(), names.end());
  std::vector<std::optional<Result<PerfAttempt>>> listings(fns.size());
  run_parallel(fns.size(), jobs, [&](std::size_t k) {
    try {
      listings[k] = run({"probe", "-k", req.vmlinux, "-L", fns[k]});
    } catch (const std::exception& e) {
      listings[k] = fail(Exit::internal, "listing " + fns[k], e.what());
    }
    return listings[k]->has_value();
  });
  std::map<std::string, std::set<int>> out;
  for (std::size_t k = 0; k < fns.size(); ++k) {
    if (!listings[k])
      continue;
    if (!*listings[k])
      return std::unexpected(listings[k]->error());
    ++attempts;
    if (auto lines = placeable_lines((*listings[k])->out))
      out[fns[k]] = std::move(*lines);
  }
  return out;
}

} // namespace

Result<PlacedPlan> place_all(const KprobeBuildRequest& req, const PerfRunner& run) {
  PlacedPlan out;
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  out.jobs = std::clamp(req.jobs > 0 ? req.jobs : cpus, 1, 64);
  const auto& anchors = req.plan.anchors;
  std::vector<std::size_t> first, stand_ins;
  for (std::size_t i = 0; i < anchors.size(); ++i)
    (is_stand_in(anchors[i]) ? stand_ins : first).push_back(i);
  PlacedSoFar placed;
  auto lines = listed_lines(req, run, out.jobs, out.attempts);
  if (!lines)
    return std::unexpected(lines.error());
  placed.lines = std::move(*lines);
  Outcomes outcomes(anchors.size());
  place_wave(req, run, first, placed, out.jobs, outcomes);
  for (std::size_t i : first)
    if (outcomes[i] && *outcomes[i]) {
      if (const auto& o = **outcomes[i]; o.point)
        placed.points[anchors[i].anchor] = *o.point;
      for (const auto& u : (**outcomes[i]).unfetchable)
        placed.unfetchable.push_back(u);
    }
  place_wave(req, run, stand_ins, placed, out.jobs, outcomes);
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    if (!outcomes[i])
      continue; // not started after an error, which comes first in plan order or later here
    if (!*outcomes[i])
      return std::unexpected(outcomes[i]->error());
    AnchorOutcome& o = **outcomes[i];
    if (req.on_progress)
      for (const auto& note : o.notes)
        req.on_progress(note);
    std::move(o.events.begin(), o.events.end(), std::back_inserter(out.events));
    std::move(o.unfetchable.begin(), o.unfetchable.end(), std::back_inserter(out.unfetchable));
    if (o.dropped)
      out.dropped.push_back(anchors[i].anchor);
    if (o.unneeded)
      out.unneeded.push_back(anchors[i].anchor);
    if (o.point)
      out.points[anchors[i].anchor] = *o.point;
    out.attempts += o.attempts;
  }
  return out;
}

Result<AnchorOutcome> place_anchor(const KprobeBuildRequest& req, const PerfRunner& run,
                                   const probes::PlannedProbe& p, const PlacedSoFar& placed) {
  AnchorOutcome out;
  if (auto s = Placer(req, run, p, placed, out).place(); !s)
    return std::unexpected(s.error());
  return out;
}

} // namespace harness::kprobe::detail
