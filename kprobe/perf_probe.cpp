#include "kprobe/perf_probe.hpp"

#include "base/files.hpp"
#include "base/sha1.hpp"
#include "kprobe/perf_anchor.hpp"
#include "probes/field_sources.hpp"
#include "probes/plan_maker.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

namespace harness::kprobe {
namespace {

namespace fs = std::filesystem;
using detail::Fields;

// Bump when the way definitions are made changes: old cache entries are then not reused.
// 2: stand-ins, later lines; 3: spellings of variables `perf probe -V` does not list not tried
constexpr std::string_view kGeneratorVersion = "kprobe-defs-3";

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

std::string perf_version(const std::string& perf) {
  ChildSpec spec;
  spec.exe = perf;
  spec.args = {"--version"};
  auto r = run_captured(spec, std::chrono::seconds(30));
  if (!r || !r->status.success())
    return "unknown";
  return detail::first_line(r->out);
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

// "12.3 s" since `t0`.
std::string seconds_since(std::chrono::steady_clock::time_point t0) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
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
  res.defs.kernel = req.release;
  res.defs.build_id = req.build_id;
  res.defs.plan_id = req.plan.plan_id;
  res.defs.perf = version;
  auto placed = detail::place_all(req, runner);
  if (!placed)
    return std::unexpected(placed.error());
  if (placed->events.empty())
    return fail(Exit::tracer_failed, "perf probe -k " + req.vmlinux,
                "placed none of the plan's " + std::to_string(req.plan.anchors.size()) + " probes",
                "check that the vmlinux has DWARF (CONFIG_DEBUG_INFO) and is the kernel the map "
                "is for (`harness verify`)");
  res.defs.events = std::move(placed->events);
  res.defs.unfetchable = std::move(placed->unfetchable);
  res.defs.dropped = std::move(placed->dropped);
  res.plan = adjusted_plan(req.plan, res.defs, placed->points, placed->unneeded);
  if (req.on_progress)
    req.on_progress("perf probe: " + std::to_string(res.defs.events.size()) + " event(s) for " +
                    std::to_string(res.plan.anchors.size()) + " anchor(s), " +
                    std::to_string(res.defs.unfetchable.size()) + " unreadable field(s), " +
                    std::to_string(placed->attempts) + " perf call(s), " +
                    std::to_string(placed->jobs) + " at a time, " + seconds_since(t0));

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
