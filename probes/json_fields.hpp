#pragma once

// The error shape of the line map, plan and kprobe definition files over the one strict reader
// (base/json_reader.hpp): every error names the file and the field
// ("probes/maps/x.json: anchors[3].line: not an integer"), unknown keys are rejected.

#include "base/json_reader.hpp"
#include "base/json_text.hpp"
#include "base/result.hpp"

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace harness::probes::jsonf {

using json = nlohmann::json;

inline std::unexpected<Error> bad(std::string_view origin, const std::string& field,
                                  const std::string& why) {
  return fail(Exit::usage, std::string(origin), field + ": " + why,
              "the file is not a valid harness file; make it again with the command that wrote it "
              "(`harness map`, `generate`, `build`)");
}

inline Result<json> parse(std::string_view text, std::string_view origin) {
  auto parsed = parse_json(text);
  if (!parsed)
    return fail(Exit::usage, std::string(origin), "not valid JSON: " + parsed.error(),
                "check the file; harness writes these files itself");
  json j = std::move(*parsed);
  if (!j.is_object())
    return bad(origin, "(top level)", "expected a JSON object");
  return j;
}

// The strict reader (base/json_reader.hpp) with this format's errors; `where` is a field
// path without the trailing dot ("anchors[3]").
inline JsonReader reader(std::string_view origin) {
  return JsonReader([o = std::string(origin)](const std::string& field, const std::string& why) {
    return bad(o, field, why).error();
  });
}

inline std::string path_of(const std::string& where) {
  return where.empty() ? where : where + ".";
}

inline Status only_keys(const json& obj, std::initializer_list<std::string_view> keys,
                        std::string_view origin, const std::string& where) {
  JsonReader rd = reader(origin);
  rd.only_keys(obj, keys, path_of(where));
  if (!rd.ok())
    return std::unexpected(rd.error());
  return {};
}

// A string member as written (callers check it against their own grammar).
inline Result<std::string> str(const json& obj, std::string_view key, std::string_view origin,
                               const std::string& where, bool required = true) {
  JsonReader rd = reader(origin);
  const json* v = rd.member(obj, key, path_of(where), required);
  std::optional<std::string> s = v ? rd.raw_text(*v, path_of(where) + std::string(key))
                                   : std::optional<std::string>(std::string());
  if (!rd.ok())
    return std::unexpected(rd.error());
  return std::move(*s);
}

inline Result<long long> integer(const json& obj, std::string_view key, std::string_view origin,
                                 const std::string& where, long long min, long long max) {
  JsonReader rd = reader(origin);
  const json* v = rd.member(obj, key, path_of(where), true);
  std::optional<long long> n;
  if (v)
    n = rd.integer_in<long long>(*v, path_of(where) + std::string(key), min, max);
  if (!rd.ok())
    return std::unexpected(rd.error());
  return *n;
}

// Text that may be shown to users or quoted in comments: printable ASCII (plus UTF-8 bytes),
// no control characters, bounded length.
inline bool clean_text(std::string_view s, size_t max_len) {
  if (s.size() > max_len)
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

} // namespace harness::probes::jsonf
