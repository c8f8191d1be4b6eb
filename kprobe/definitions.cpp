#include "kprobe/definitions.hpp"

#include "base/files.hpp"
#include "base/json_file.hpp"
#include "probes/anchors.hpp"
#include "probes/json_fields.hpp"
#include "probes/line_map.hpp"
#include "probes/trace_format.hpp"

#include <set>

namespace harness::kprobe {
namespace {

using probes::jsonf::json;
namespace jsonf = probes::jsonf;

bool lower_ident(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || c == '_';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool lower_hex(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!(is_digit(c) || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

// The fetch part perf emits: registers (%sp, %di), stack/memory dereferences +N(...) / -N(...),
// symbols @sym, and $retval/$comm style specials. Only these characters, balanced parentheses.
bool valid_fetch(std::string_view f) {
  if (f.empty() || f.size() > 200)
    return false;
  int depth = 0;
  for (char c : f) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '%' ||
                    c == '+' || c == '-' || c == '(' || c == ')' || c == '@' || c == '$' ||
                    c == '_' || c == '.';
    if (!ok)
      return false;
    depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    if (depth < 0)
      return false;
  }
  return depth == 0;
}

bool valid_type(std::string_view t) {
  for (std::string_view k :
       {"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "x8", "x16", "x32", "x64"})
    if (t == k)
      return true;
  return false;
}

bool known_key(std::string_view k) {
  for (auto key : probes::trace::all_keys)
    if (key == k)
      return true;
  return false;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    if (j > i)
      out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<std::string> text_field(const json& j, const char* key, std::string_view origin,
                               const std::string& where, std::size_t max_len) {
  auto v = jsonf::str(j, key, origin, where);
  if (!v)
    return std::unexpected(v.error());
  if (!jsonf::clean_text(*v, max_len))
    return jsonf::bad(origin, (where.empty() ? "" : where + ".") + key,
                      "control characters or longer than " + std::to_string(max_len));
  return v;
}

} // namespace

bool valid_event_name(std::string_view s) {
  return lower_ident(s, 63);
}
bool valid_group_name(std::string_view s) {
  return lower_ident(s, 31);
}

bool valid_probe_location(std::string_view s) {
  const auto plus = s.find('+');
  const std::string_view sym = s.substr(0, plus);
  if (sym.empty() || sym.size() > 128 || is_digit(sym[0]) || sym[0] == '.')
    return false;
  for (char c : sym)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '.'))
      return false;
  if (plus == std::string_view::npos)
    return true;
  const std::string_view off = s.substr(plus + 1);
  if (off.empty() || off.size() > 10)
    return false;
  for (char c : off)
    if (!is_digit(c))
      return false;
  return true;
}

bool valid_fetch_arg(std::string_view s) {
  const auto eq = s.find('=');
  const auto colon = s.rfind(':');
  if (eq == std::string_view::npos || colon == std::string_view::npos || colon < eq)
    return false;
  return known_key(s.substr(0, eq)) && valid_fetch(s.substr(eq + 1, colon - eq - 1)) &&
         valid_type(s.substr(colon + 1));
}

std::string event_name_for(std::string_view anchor) {
  std::string out(anchor);
  for (char& c : out)
    if (c == '.')
      c = '_';
  return out;
}

Result<PerfDefinition> parse_perf_definition(std::string_view line) {
  const auto w = words(line);
  auto bad = [&](const std::string& why) {
    return fail(Exit::tracer_failed, "perf probe output",
                why + " in \"" + std::string(line.substr(0, 160)) + "\"",
                "perf printed a definition harness does not understand; run the same "
                "`perf probe -D` by hand to see it");
  };
  if (w.size() < 2 || !w[0].starts_with("p:"))
    return bad("not a kprobe definition (p:EVENT PROBE ARGS)");
  std::string_view name = w[0].substr(2);
  if (const auto slash = name.find('/'); slash != std::string_view::npos)
    name = name.substr(slash + 1);
  PerfDefinition d;
  d.event = std::string(name);
  for (char& c : d.event)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  if (!valid_event_name(d.event))
    return bad("event name '" + std::string(name.substr(0, 64)) + "' is not an identifier");
  d.probe = std::string(w[1]);
  if (!valid_probe_location(d.probe))
    return bad("probe location '" + d.probe.substr(0, 64) + "' is not SYMBOL+OFFSET");
  for (std::size_t i = 2; i < w.size(); ++i) {
    if (!valid_fetch_arg(w[i]))
      return bad("fetch argument '" + std::string(w[i].substr(0, 64)) + "' is not KEY=FETCH:TYPE");
    d.args.emplace_back(w[i]);
  }
  return d;
}

std::string install_line(std::string_view group, const KprobeEvent& e) {
  std::string s = "p:" + std::string(group) + "/" + e.event + " " + e.probe;
  for (const auto& a : e.args)
    s += " " + a;
  return s;
}

std::string remove_line(std::string_view group, std::string_view event) {
  return "-:" + std::string(group) + "/" + std::string(event);
}

std::string defs_to_json(const KprobeDefs& d) {
  json events = json::array();
  for (const auto& e : d.events)
    events.push_back(
        {{"anchor", e.anchor}, {"event", e.event}, {"probe", e.probe}, {"args", e.args}});
  json unf = json::array();
  for (const auto& u : d.unfetchable)
    unf.push_back({{"anchor", u.anchor}, {"key", u.key}});
  json j = {{"schema", defs_schema}, {"kernel", d.kernel},  {"build_id", d.build_id},
            {"plan_id", d.plan_id},  {"perf", d.perf},      {"events", events},
            {"unfetchable", unf},    {"dropped", d.dropped}};
  return j.dump(2) + "\n";
}

namespace {

// The file's identity: schema, kernel, build id, plan id and perf version.
Result<KprobeDefs> defs_header_from_json(const json& j, std::string_view origin) {
  KprobeDefs d;
  std::string schema;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"schema", &schema},
                           {"kernel", &d.kernel},
                           {"build_id", &d.build_id},
                           {"plan_id", &d.plan_id},
                           {"perf", &d.perf}}) {
    auto v = text_field(j, key, origin, "", 200);
    if (!v)
      return std::unexpected(v.error());
    *dest = std::move(*v);
  }
  if (schema != defs_schema)
    return jsonf::bad(origin, "schema",
                      "'" + schema.substr(0, 40) + "' is not " + std::string(defs_schema));
  if (!probes::valid_release(d.kernel))
    return jsonf::bad(origin, "kernel", "not a kernel release");
  // An empty build id would turn the run's "another kernel" check off (check_defs_kernel).
  if (!lower_hex(d.build_id) || d.build_id.size() % 2 != 0 || d.build_id.size() > 128)
    return jsonf::bad(origin, "build_id",
                      "expected the vmlinux's GNU build id: an even number of lowercase hex "
                      "digits, at most 128");
  if (d.plan_id.size() != 16 || !lower_hex(d.plan_id))
    return jsonf::bad(origin, "plan_id", "expected 16 lowercase hex digits");
  return d;
}

// One entry of `events` (`where`); `names` holds the event names listed before it.
Result<KprobeEvent> event_from_json(const json& e, std::string_view origin,
                                    const std::string& where, std::set<std::string>& names) {
  if (!e.is_object())
    return jsonf::bad(origin, where, "expected an object");
  if (auto s = jsonf::only_keys(e, {"anchor", "event", "probe", "args"}, origin, where); !s)
    return std::unexpected(s.error());
  KprobeEvent ev;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"anchor", &ev.anchor},
                           {"event", &ev.event},
                           {"probe", &ev.probe}}) {
    auto v = text_field(e, key, origin, where, 160);
    if (!v)
      return std::unexpected(v.error());
    *dest = std::move(*v);
  }
  if (!probes::find_any_anchor(ev.anchor))
    return jsonf::bad(origin, where + ".anchor", "'" + ev.anchor + "' is not a known anchor");
  if (!valid_event_name(ev.event) || !names.insert(ev.event).second)
    return jsonf::bad(origin, where + ".event", "not an identifier, or listed twice");
  if (!valid_probe_location(ev.probe))
    return jsonf::bad(origin, where + ".probe", "not SYMBOL+OFFSET");
  auto args = e.find("args");
  if (args == e.end() || !args->is_array() || args->size() > 32)
    return jsonf::bad(origin, where + ".args", "missing, not an array or over 32 entries");
  for (std::size_t k = 0; k < args->size(); ++k) {
    const json& a = (*args)[k];
    if (!a.is_string() || !valid_fetch_arg(a.get<std::string>()))
      return jsonf::bad(origin, where + ".args[" + std::to_string(k) + "]",
                        "not KEY=FETCH:TYPE with a trace key");
    ev.args.push_back(a.get<std::string>());
  }
  return ev;
}

// One entry of `unfetchable` (`where`).
Result<Unfetchable> unfetchable_from_json(const json& u, std::string_view origin,
                                          const std::string& where) {
  if (!u.is_object())
    return jsonf::bad(origin, where, "expected an object");
  if (auto s = jsonf::only_keys(u, {"anchor", "key"}, origin, where); !s)
    return std::unexpected(s.error());
  auto a = text_field(u, "anchor", origin, where, 64);
  auto k = text_field(u, "key", origin, where, 64);
  if (!a)
    return std::unexpected(a.error());
  if (!k)
    return std::unexpected(k.error());
  if (!probes::find_any_anchor(*a) || !known_key(*k))
    return jsonf::bad(origin, where, "unknown anchor or trace key");
  return Unfetchable{*a, *k};
}

// `events` and `unfetchable`, into D.
Status defs_lists_from_json(const json& j, std::string_view origin, KprobeDefs& d) {
  auto events = j.find("events");
  if (events == j.end() || !events->is_array() || events->empty() || events->size() > 4096)
    return jsonf::bad(origin, "events", "missing, empty, not an array or over 4096 entries");
  std::set<std::string> names;
  for (std::size_t i = 0; i < events->size(); ++i) {
    auto ev = event_from_json((*events)[i], origin, "events[" + std::to_string(i) + "]", names);
    if (!ev)
      return std::unexpected(ev.error());
    d.events.push_back(std::move(*ev));
  }
  auto unf = j.find("unfetchable");
  if (unf == j.end() || !unf->is_array() || unf->size() > 1024)
    return jsonf::bad(origin, "unfetchable", "missing, not an array or too long");
  for (std::size_t i = 0; i < unf->size(); ++i) {
    auto x = unfetchable_from_json((*unf)[i], origin, "unfetchable[" + std::to_string(i) + "]");
    if (!x)
      return std::unexpected(x.error());
    d.unfetchable.push_back(std::move(*x));
  }
  return {};
}

} // namespace

Result<KprobeDefs> defs_from_json(std::string_view text, std::string_view origin) {
  auto parsed = jsonf::parse(text, origin);
  if (!parsed)
    return std::unexpected(parsed.error());
  const json& j = *parsed;
  if (auto s = jsonf::only_keys(
          j,
          {"schema", "kernel", "build_id", "plan_id", "perf", "events", "unfetchable", "dropped"},
          origin, "");
      !s)
    return std::unexpected(s.error());
  auto d = defs_header_from_json(j, origin);
  if (!d)
    return d;
  if (auto s = defs_lists_from_json(j, origin, *d); !s)
    return std::unexpected(s.error());
  auto dropped = j.find("dropped");
  if (dropped == j.end() || !dropped->is_array() || dropped->size() > 256)
    return jsonf::bad(origin, "dropped", "missing, not an array or too long");
  for (const auto& x : *dropped) {
    if (!x.is_string() || !probes::find_any_anchor(x.get<std::string>()))
      return jsonf::bad(origin, "dropped", "entries must be known anchor names");
    d->dropped.push_back(x.get<std::string>());
  }
  return d;
}

Result<KprobeDefs> load_defs(const std::string& path) {
  return load_json_file(path, defs_from_json);
}

Status save_defs(const std::string& path, const KprobeDefs& defs) {
  return write_file_atomic(path, defs_to_json(defs));
}

Status check_defs_kernel(const KprobeDefs& defs, const std::string& running_build_id) {
  if (!running_build_id.empty() && !defs.build_id.empty() && running_build_id != defs.build_id)
    return fail(Exit::usage, "kprobe definitions",
                "are for the kernel with build id " + defs.build_id.substr(0, 16) + " (" +
                    defs.kernel + "), this kernel's is " + running_build_id.substr(0, 16),
                "build them for this kernel: `harness build --backend kprobe --kernel-build DIR`");
  return {};
}

} // namespace harness::kprobe
