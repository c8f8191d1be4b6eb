#pragma once

// Strict JSON field access for harness's own file formats: every error names the file and the
// field ("stap/maps/x.json: anchors[3].line: expected an integer"), unknown keys are rejected.

#include "result.hpp"

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace harness::stap::jsonf {

using json = nlohmann::json;

inline std::unexpected<Error> bad(std::string_view origin, const std::string& field,
                                  const std::string& why) {
  return fail(Exit::usage, std::string(origin), field + ": " + why,
              "the file is not a valid harness file; regenerate it (e.g. `harness map`)");
}

inline Result<json> parse(std::string_view text, std::string_view origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    return fail(Exit::usage, std::string(origin), "not valid JSON",
                "check the file; harness writes these files itself");
  if (!j.is_object())
    return bad(origin, "(top level)", "expected a JSON object");
  return j;
}

inline Status only_keys(const json& obj, std::initializer_list<std::string_view> keys,
                        std::string_view origin, const std::string& where) {
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (auto key : keys)
      known = known || key == k;
    if (!known)
      return bad(origin, where.empty() ? k : where + "." + k, "unknown field");
  }
  return {};
}

inline Result<std::string> str(const json& obj, std::string_view key, std::string_view origin,
                               const std::string& where, bool required = true) {
  const std::string field = where.empty() ? std::string(key) : where + "." + std::string(key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) {
    if (required)
      return bad(origin, field, "missing");
    return std::string();
  }
  if (!it->is_string())
    return bad(origin, field, "expected a string");
  return it->get<std::string>();
}

inline Result<long long> integer(const json& obj, std::string_view key, std::string_view origin,
                                 const std::string& where, long long min, long long max) {
  const std::string field = where.empty() ? std::string(key) : where + "." + std::string(key);
  auto it = obj.find(std::string(key));
  if (it == obj.end())
    return bad(origin, field, "missing");
  if (!it->is_number_integer())
    return bad(origin, field, "expected an integer");
  const long long v = it->get<long long>();
  if (v < min || v > max)
    return bad(origin, field,
               std::to_string(v) + " is out of range " + std::to_string(min) + ".." +
                   std::to_string(max));
  return v;
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

} // namespace harness::stap::jsonf
