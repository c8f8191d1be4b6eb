#include "stap/verify.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "probes/anchors.hpp"
#include "stap/stap_env.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace harness::stap {
namespace {

// The DWARF variable a trace field is read from (generate.cpp's expressions start there).
std::string_view variable_for(std::string_view anchor, std::string_view field) {
  if (field == "status" && anchor.starts_with("get_status."))
    return "h";
  if (field == "frame" || field == "ph" || field == "status" || field == "err" ||
      field == "len_sum" || field == "tp_len" || field == "ts" || field == "skb")
    return field;
  if (field == "flags")
    return "msg";
  return "po"; // head, frame_max, frame_size, frames_per_block, version, sndbuf, wmem, pending
}

bool in_span(const ListedProbe& p, const probes::FunctionSpan& f) {
  return p.function == f.name && path_has_suffix(p.file, probes::af_packet_path) &&
         p.line >= f.start && p.line <= f.end;
}

void fill_variables(AnchorCheck& row, const probes::AnchorDef& def, const ListedProbe& at) {
  for (const auto& v : at.variables)
    row.visible.push_back(v.name);
  for (auto field : def.fields) {
    const std::string var(variable_for(def.name, field));
    if (std::find(row.reads.begin(), row.reads.end(), var) == row.reads.end())
      row.reads.push_back(var);
  }
  std::set<std::string> missing;
  for (auto field : def.fields)
    if (!at.has_variable(variable_for(def.name, field)))
      missing.insert(std::string(field));
  for (auto field : def.fields) // keep the anchor's field order
    if (missing.count(std::string(field)))
      row.missing_fields.emplace_back(field);
  row.state = row.missing_fields.empty() ? AnchorState::ok : AnchorState::degraded;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty())
      s += sep;
    s += x;
  }
  return s;
}

} // namespace

std::string_view to_string(AnchorState s) {
  switch (s) {
  case AnchorState::ok:
    return "ok";
  case AnchorState::degraded:
    return "degraded";
  case AnchorState::not_probeable:
    return "NOT PROBEABLE";
  case AnchorState::no_function:
    return "NO FUNCTION";
  case AnchorState::absent:
    return "absent";
  case AnchorState::bound:
    return "bound";
  }
  return "?";
}

int VerifyResult::unusable() const {
  return static_cast<int>(
      std::count_if(rows.begin(), rows.end(), [](const AnchorCheck& r) { return r.unusable(); }));
}

std::vector<std::string> VerifyResult::unusable_anchors() const {
  std::vector<std::string> out;
  for (const auto& r : rows)
    if (r.unusable())
      out.push_back(r.anchor);
  return out;
}

VerifyResult check_anchors(const probes::LineMap& map, probes::ProbeSet set,
                           std::span<const ListedProbe> statements,
                           std::span<const ListedProbe> functions) {
  VerifyResult r;
  r.map_identity = probes::map_identity(map);
  r.set = set;
  for (const auto& def : probes::anchors()) {
    const probes::AnchorLocation* loc = map.anchor(def.name);
    const probes::FunctionSpan* fn = map.function(def.function);
    AnchorCheck row;
    row.anchor = std::string(def.name);
    row.function = fn ? fn->name : std::string(def.function);
    row.line = loc ? loc->line : 0;
    row.in_set = probes::in_set(def, set);
    if (!loc || !loc->present() || !fn) {
      row.state = AnchorState::absent;
      r.rows.push_back(std::move(row));
      continue;
    }
    if (def.probe_function_entry) {
      const auto it = std::find_if(functions.begin(), functions.end(), [&](const ListedProbe& p) {
        return p.function == fn->name && path_has_suffix(p.file, probes::af_packet_path);
      });
      if (it == functions.end())
        row.state = AnchorState::no_function;
      else
        fill_variables(row, def, *it);
      r.rows.push_back(std::move(row));
      continue;
    }
    std::vector<const ListedProbe*> lines;
    for (const auto& p : statements)
      if (in_span(p, *fn))
        lines.push_back(&p);
    const auto exact = std::find_if(lines.begin(), lines.end(),
                                    [&](const ListedProbe* p) { return p->line == loc->line; });
    if (def.kind != probes::AnchorKind::statement) {
      row.state = AnchorState::bound;
      if (exact == lines.end() && !lines.empty())
        row.nearest_line = lines.front()->line;
    } else if (lines.empty()) {
      row.state = AnchorState::no_function;
    } else if (exact != lines.end()) {
      fill_variables(row, def, **exact);
    } else {
      row.state = AnchorState::not_probeable;
      // The closest line; on a tie the later one (a `break;` lands after itself).
      int best = 0, best_d = 1 << 30;
      for (const auto* p : lines) {
        const int d = std::abs(p->line - loc->line);
        if (d < best_d || (d == best_d && p->line > best)) {
          best = p->line;
          best_d = d;
        }
      }
      row.nearest_line = best;
    }
    r.rows.push_back(std::move(row));
  }
  return r;
}

Result<DwarfListings> list_af_packet_probes(const std::string& kernel_build,
                                            const std::string& cache_dir,
                                            const std::string& build_id) {
  DwarfListings out;
  const std::string file = std::string(probes::af_packet_path);
  const std::string stap_dir = stap_data_dir(cache_dir);
  const std::string saved =
      cache_dir.empty() || build_id.empty() ? "" : cache_dir + "/listings/" + build_id;
  if (!saved.empty()) {
    auto st = read_file(saved + ".statements.txt");
    auto fn = read_file(saved + ".functions.txt");
    if (st && fn) {
      out.statements = parse_stap_listing(*st);
      out.functions = parse_stap_listing(*fn);
      if (!out.statements.empty() && !out.functions.empty()) {
        out.from_cache = true;
        return out;
      }
    }
  }
  for (const bool fn : {false, true}) {
    ChildSpec spec;
    spec.exe = "stap";
    spec.args = {"-r", kernel_build, "-L",
                 fn ? "kernel.function(\"*@" + file + "\")"
                    : "kernel.statement(\"*@" + file + ":*\")"};
    if (!stap_dir.empty())
      spec.env.emplace_back("SYSTEMTAP_DIR", stap_dir);
    auto res = run_captured(spec, std::chrono::seconds(120));
    if (!res)
      return fail(Exit::tool_missing, "stap", res.error().why,
                  "apt-get install systemtap (or run `harness demo`)");
    if (res->timed_out)
      return fail(Exit::tracer_failed, describe_command(spec), "did not finish within 120 s");
    auto listed = parse_stap_listing(res->out);
    if (listed.empty()) {
      std::string why = "listed no probe points in " + file;
      const auto nl = res->err.find('\n');
      if (!res->err.empty())
        why += ": " + res->err.substr(0, nl);
      return fail(res->err.find("debuginfo") != std::string::npos ? Exit::no_debuginfo
                                                                  : Exit::tracer_failed,
                  describe_command(spec), why,
                  "the build needs vmlinux with DWARF (CONFIG_DEBUG_INFO) and CONFIG_PACKET=y; "
                  "`harness kernel prepare` sets both");
    }
    (fn ? out.functions : out.statements) = std::move(listed);
    if (!saved.empty() && make_dirs(cache_dir + "/listings"))
      (void)write_file_atomic(saved + (fn ? ".functions.txt" : ".statements.txt"), res->out);
  }
  return out;
}

// The anchor column: the longest name (destruct.after_available) and a space.
constexpr std::size_t kAnchorWidth = 26;

std::string format_verify_table(const VerifyResult& r) {
  std::string s =
      "map: " + r.map_identity + "\nprobe set: " + std::string(probes::to_string(r.set)) + "\n\n";
  auto pad = [](std::string v, size_t w) {
    if (v.size() < w)
      v.append(w - v.size(), ' ');
    return v;
  };
  s += pad("anchor", kAnchorWidth) + pad("function", 22) + pad("line", 7) + pad("state", 15) +
       "details\n";
  for (const auto& row : r.rows) {
    std::string details;
    switch (row.state) {
    case AnchorState::ok:
      details = "reads $" + join(row.reads, " $");
      if (row.reads.empty())
        details = "no variables needed";
      if (row.visible.size() > row.reads.size())
        details += " (" + std::to_string(row.visible.size()) + " visible)";
      break;
    case AnchorState::degraded:
      details = "prints ? for: " + join(row.missing_fields, " ") +
                "; visible: " + (row.visible.empty() ? "none" : "$" + join(row.visible, " $"));
      break;
    case AnchorState::not_probeable:
      details = row.nearest_line ? "no line-table entry; nearest probeable line " +
                                       std::to_string(row.nearest_line) + " (" +
                                       (row.nearest_line > row.line ? "+" : "") +
                                       std::to_string(row.nearest_line - row.line) + ")"
                                 : "no line-table entry";
      break;
    case AnchorState::no_function:
      details = "no probeable code of " + row.function + " in this kernel (inlined away?)";
      break;
    case AnchorState::absent:
      details = "not in this kernel version (map)";
      break;
    case AnchorState::bound:
      details = "function bound, not probed";
      break;
    }
    if (!row.in_set && row.state != AnchorState::bound && row.state != AnchorState::absent)
      details += " [not in set]";
    s += pad(row.anchor, kAnchorWidth) + pad(row.function, 22) +
         pad(row.line ? std::to_string(row.line) : "-", 7) +
         pad(std::string(to_string(row.state)), 15) + details + "\n";
  }
  const int bad = r.unusable();
  s += "\n" +
       (bad ? std::to_string(bad) +
                  " anchor(s) of the set cannot be probed: " + join(r.unusable_anchors(), ", ")
            : std::string("every anchor of the set can be probed")) +
       "\n";
  return s;
}

} // namespace harness::stap
