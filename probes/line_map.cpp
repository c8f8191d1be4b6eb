#include "probes/line_map.hpp"

#include "base/files.hpp"
#include "base/json_file.hpp"
#include "probes/anchors.hpp"
#include "probes/json_fields.hpp"

#include <set>

namespace harness::probes {
namespace {

using jsonf::json;

// af_packet.c is ~5k lines; anything beyond this is not a line of it.
constexpr long long kMaxLine = 1'000'000;
constexpr size_t kMaxText = 400;

// schema, release, package, note.
Status read_identity(const json& j, std::string_view origin, LineMap& m) {
  auto schema = jsonf::str(j, "schema", origin, "");
  if (!schema)
    return std::unexpected(schema.error());
  if (*schema != map_schema)
    return jsonf::bad(origin, "schema",
                      "'" + schema->substr(0, 40) + "' is not " + std::string(map_schema));
  auto release = jsonf::str(j, "release", origin, "");
  if (!release)
    return std::unexpected(release.error());
  if (!valid_release(*release))
    return jsonf::bad(origin, "release",
                      "'" + release->substr(0, 64) +
                          "' is not a kernel release (digits, letters and . - + _ ~ only, "
                          "starting with a digit, at most 64)");
  m.release = *release;
  auto package = jsonf::str(j, "package", origin, "", false);
  auto note = jsonf::str(j, "note", origin, "", false);
  if (!package)
    return std::unexpected(package.error());
  if (!note)
    return std::unexpected(note.error());
  if (!jsonf::clean_text(*package, 200))
    return jsonf::bad(origin, "package", "control characters or longer than 200");
  if (!jsonf::clean_text(*note, 2000))
    return jsonf::bad(origin, "note", "control characters or longer than 2000");
  m.package = *package;
  m.note = *note;
  return {};
}

// source: the file the map was computed from.
Status read_source(const json& j, std::string_view origin, LineMap& m) {
  auto src = j.find("source");
  if (src == j.end() || !src->is_object())
    return jsonf::bad(origin, "source", "missing or not an object");
  if (auto s = jsonf::only_keys(*src, {"path", "sha1", "build_ids"}, origin, "source"); !s)
    return std::unexpected(s.error());
  auto path = jsonf::str(*src, "path", origin, "source");
  if (!path)
    return std::unexpected(path.error());
  if (*path != af_packet_path)
    return jsonf::bad(origin, "source.path", "must be " + std::string(af_packet_path));
  auto sha1 = jsonf::str(*src, "sha1", origin, "source");
  if (!sha1)
    return std::unexpected(sha1.error());
  if (!valid_sha1(*sha1))
    return jsonf::bad(origin, "source.sha1", "expected 40 lowercase hex digits");
  m.source_sha1 = *sha1;
  if (auto ids = src->find("build_ids"); ids != src->end()) {
    if (!ids->is_array() || ids->size() > 1000)
      return jsonf::bad(origin, "source.build_ids", "expected an array of at most 1000 build ids");
    for (const auto& id : *ids) {
      if (!id.is_string() || !valid_build_id(id.get<std::string>()))
        return jsonf::bad(origin, "source.build_ids",
                          "expected build ids (8 to 128 lowercase hex digits, even length)");
      m.build_ids.push_back(id.get<std::string>());
    }
  }
  return {};
}

// One functions[] entry: a function harness probes, under one of its names, with its lines.
Result<FunctionSpan> read_function(const json& f, std::string_view origin, const std::string& where,
                                   std::set<std::string>& roles) {
  if (!f.is_object())
    return jsonf::bad(origin, where, "expected an object");
  if (auto s = jsonf::only_keys(f, {"role", "name", "start", "end"}, origin, where); !s)
    return std::unexpected(s.error());
  FunctionSpan span;
  auto role = jsonf::str(f, "role", origin, where);
  auto name = jsonf::str(f, "name", origin, where);
  if (!role)
    return std::unexpected(role.error());
  if (!name)
    return std::unexpected(name.error());
  const FunctionDef* def = find_function(*role);
  if (!def || def->canonical != *role)
    return jsonf::bad(origin, where + ".role",
                      "'" + role->substr(0, 64) + "' is not a function harness probes");
  bool known_name = false;
  for (auto n : def->names)
    known_name = known_name || n == *name;
  if (!known_name)
    return jsonf::bad(origin, where + ".name",
                      "'" + name->substr(0, 64) + "' is not a known name of " + *role);
  auto start = jsonf::integer(f, "start", origin, where, 1, kMaxLine);
  if (!start)
    return std::unexpected(start.error());
  auto end = jsonf::integer(f, "end", origin, where, *start, kMaxLine);
  if (!end)
    return std::unexpected(end.error());
  if (!roles.insert(*role).second)
    return jsonf::bad(origin, where, "function " + *role + " listed twice");
  span.role = *role;
  span.name = *name;
  span.start = static_cast<int>(*start);
  span.end = static_cast<int>(*end);
  return span;
}

// functions: every anchored function once.
Status read_functions(const json& j, std::string_view origin, LineMap& m) {
  auto funcs = j.find("functions");
  if (funcs == j.end() || !funcs->is_array())
    return jsonf::bad(origin, "functions", "missing or not an array");
  std::set<std::string> roles;
  for (size_t i = 0; i < funcs->size(); ++i) {
    const std::string where = "functions[" + std::to_string(i) + "]";
    auto span = read_function((*funcs)[i], origin, where, roles);
    if (!span)
      return std::unexpected(span.error());
    m.functions.push_back(std::move(*span));
  }
  for (const auto& f : anchored_functions())
    if (!roles.contains(std::string(f.canonical)))
      return jsonf::bad(origin, "functions", "function " + std::string(f.canonical) + " missing");
  return {};
}

// One anchors[] entry: a known anchor, once, its line inside its function (0: absent).
Result<AnchorLocation> read_anchor(const json& a, std::string_view origin, const std::string& where,
                                   const LineMap& m, std::set<std::string>& seen) {
  if (!a.is_object())
    return jsonf::bad(origin, where, "expected an object");
  if (auto s = jsonf::only_keys(a, {"name", "line", "text"}, origin, where); !s)
    return std::unexpected(s.error());
  auto name = jsonf::str(a, "name", origin, where);
  if (!name)
    return std::unexpected(name.error());
  const AnchorDef* def = find_anchor(*name);
  if (!def)
    return jsonf::bad(origin, where + ".name",
                      "'" + name->substr(0, 64) + "' is not a known anchor");
  if (!seen.insert(*name).second)
    return jsonf::bad(origin, where + ".name", "anchor " + *name + " listed twice");
  auto line = jsonf::integer(a, "line", origin, where, 0, kMaxLine);
  if (!line)
    return std::unexpected(line.error());
  auto txt = jsonf::str(a, "text", origin, where);
  if (!txt)
    return std::unexpected(txt.error());
  if (!jsonf::clean_text(*txt, kMaxText))
    return jsonf::bad(origin, where + ".text",
                      "control characters or longer than " + std::to_string(kMaxText));
  const FunctionSpan* span = m.function(def->function);
  const std::string label = where + " (" + *name + ")";
  if (*line == 0) {
    if (!def->optional)
      return jsonf::bad(origin, label, "line 0 (absent), but this anchor exists in every kernel");
    if (!txt->empty())
      return jsonf::bad(origin, label, "absent (line 0) but has text");
  } else {
    if (*line < span->start || *line > span->end)
      return jsonf::bad(origin, label,
                        "line " + std::to_string(*line) + " is outside " + span->name + " (lines " +
                            std::to_string(span->start) + "-" + std::to_string(span->end) + ")");
    if (def->kind == AnchorKind::function_start && *line != span->start)
      return jsonf::bad(origin, label, "must equal the function's start line");
    if (def->kind == AnchorKind::function_end && *line != span->end)
      return jsonf::bad(origin, label, "must equal the function's end line");
    if (txt->empty())
      return jsonf::bad(origin, label, "present but has no statement text");
  }
  return AnchorLocation{*name, static_cast<int>(*line), *txt};
}

// anchors: every af_packet.c anchor of the table once.
Status read_anchors(const json& j, std::string_view origin, LineMap& m) {
  auto anchs = j.find("anchors");
  if (anchs == j.end() || !anchs->is_array())
    return jsonf::bad(origin, "anchors", "missing or not an array");
  std::set<std::string> seen;
  for (size_t i = 0; i < anchs->size(); ++i) {
    const std::string where = "anchors[" + std::to_string(i) + "]";
    auto loc = read_anchor((*anchs)[i], origin, where, m, seen);
    if (!loc)
      return std::unexpected(loc.error());
    m.anchors.push_back(std::move(*loc));
  }
  for (const auto& a : anchors())
    if (!seen.contains(std::string(a.name)))
      return jsonf::bad(origin, "anchors", "anchor " + std::string(a.name) + " missing");
  return {};
}

} // namespace

const AnchorLocation* LineMap::anchor(std::string_view name) const {
  for (const auto& a : anchors)
    if (a.name == name)
      return &a;
  return nullptr;
}

const FunctionSpan* LineMap::function(std::string_view role) const {
  for (const auto& f : functions)
    if (f.role == role)
      return &f;
  return nullptr;
}

bool valid_release(std::string_view r) {
  if (r.empty() || r.size() > 64 || r[0] < '0' || r[0] > '9')
    return false;
  for (char c : r) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '.' || c == '-' || c == '+' || c == '_' || c == '~';
    if (!ok)
      return false;
  }
  return true;
}

bool valid_build_id(std::string_view s) {
  return s.size() >= 8 && s.size() <= 128 && s.size() % 2 == 0 &&
         s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool valid_sha1(std::string_view s) {
  if (s.size() != 40)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string map_identity(const LineMap& m) {
  std::string out = m.release + " (";
  if (!m.package.empty())
    out += m.package + ", ";
  return out + "sha1 " + m.source_sha1.substr(0, 12) + ")";
}

Result<LineMap> line_map_from_json(std::string_view text, std::string_view origin) {
  auto parsed = jsonf::parse(text, origin);
  if (!parsed)
    return std::unexpected(parsed.error());
  const json& j = *parsed;
  if (auto s = jsonf::only_keys(
          j, {"schema", "release", "package", "note", "source", "functions", "anchors"}, origin,
          "");
      !s)
    return std::unexpected(s.error());
  LineMap m;
  for (auto step : {read_identity, read_source, read_functions, read_anchors})
    if (auto s = step(j, origin, m); !s)
      return std::unexpected(s.error());
  return m;
}

std::string line_map_to_json(const LineMap& m) {
  using ojson = nlohmann::ordered_json;
  ojson j = ojson::object();
  j["schema"] = map_schema;
  j["release"] = m.release;
  if (!m.package.empty())
    j["package"] = m.package;
  if (!m.note.empty())
    j["note"] = m.note;
  j["source"] = {{"path", af_packet_path}, {"sha1", m.source_sha1}};
  if (!m.build_ids.empty())
    j["source"]["build_ids"] = m.build_ids;
  ojson funcs = ojson::array();
  for (const auto& f : m.functions)
    funcs.push_back({{"role", f.role}, {"name", f.name}, {"start", f.start}, {"end", f.end}});
  j["functions"] = std::move(funcs);
  ojson anchs = ojson::array();
  for (const auto& a : m.anchors)
    anchs.push_back({{"name", a.name}, {"line", a.line}, {"text", a.text}});
  j["anchors"] = std::move(anchs);
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

Result<LineMap> load_line_map(const std::string& path) {
  return load_json_file(path, line_map_from_json);
}

Status save_line_map(const std::string& path, const LineMap& m) {
  return write_file_atomic(path, line_map_to_json(m));
}

} // namespace harness::probes
