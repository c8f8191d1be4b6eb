#pragma once

// The one strict reader of harness's own JSON files (maps, plans, kprobe definitions, reports,
// sender records, VM jobs; docs/DESIGN.md "Files"). It walks a parsed document, names every
// problem by the field's path ("frames[3].index: 9 is beyond ..."), keeps the first problem
// only, and never throws: nlohmann's exceptions do not cross it. Numbers are integers
// range-checked into the target type (never wrapped; a float such as 1e308 would be undefined
// behaviour to convert), strings are bounded and made printable, booleans are true/false.
// Each file format says how a problem becomes its Error (`ErrorFn`): which input to name and
// which hint to give.

#include "base/printable.hpp"
#include "base/result.hpp"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace harness {

class JsonReader {
public:
  using json = nlohmann::json;
  // The Error of one file format for a problem at `field` ("run.ring.frames").
  using ErrorFn = std::function<Error(const std::string& field, const std::string& why)>;

  explicit JsonReader(ErrorFn make_error) : make_error_(std::move(make_error)) {}

  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }
  // Records a problem; only the first one is kept.
  void fail(const std::string& field, const std::string& why) {
    if (!error_)
      error_ = make_error_(field, why);
  }

  // ---- members ----
  // `key` of `obj`; nullptr when it is absent or null (a problem "missing" when `required`).
  const json* member(const json& obj, std::string_view key, const std::string& path,
                     bool required) {
    const json* v = nullptr;
    if (obj.is_object())
      if (auto it = obj.find(key); it != obj.end() && !it->is_null())
        v = &*it;
    if (!v && required)
      fail(path + std::string(key), "missing");
    return v;
  }
  // A member that must be an object (array); nullptr and a problem when it is not.
  const json* object(const json& obj, std::string_view key, const std::string& path) {
    return typed(obj, key, path, json::value_t::object, "missing or not an object");
  }
  const json* array(const json& obj, std::string_view key, const std::string& path) {
    return typed(obj, key, path, json::value_t::array, "missing or not an array");
  }
  // Every key of `obj` is one of `keys`; else a problem "unknown field".
  void only_keys(const json& obj, std::initializer_list<std::string_view> keys,
                 const std::string& path) {
    for (const auto& [k, v] : obj.items()) {
      bool known = false;
      for (auto key : keys)
        known = known || key == k;
      if (!known)
        fail(path + k, "unknown field");
    }
  }

  // ---- values ----
  // A JSON integer as T: floats, negatives for unsigned T and values T cannot hold are refused.
  // Values above 2^63 are refused for every T: counters and nanoseconds stay below; more is
  // corruption.
  template <class T> std::optional<T> integer(const json& v, const std::string& field) {
    using Lim = std::numeric_limits<T>;
    if (!v.is_number_integer()) {
      fail(field, v.is_number() ? "not an integer" : "not a number");
      return std::nullopt;
    }
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(Lim::max()) ||
          u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail(field, std::to_string(u) + " is out of range");
        return std::nullopt;
      }
      return static_cast<T>(u);
    }
    // A signed JSON value (negative, or built in code rather than parsed from text).
    const auto i = v.get<std::int64_t>();
    const bool too_small =
        std::is_unsigned_v<T> ? i < 0 : i < static_cast<std::int64_t>(Lim::min());
    const bool too_large =
        i > 0 && static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(Lim::max());
    if (too_small || too_large) {
      fail(field, std::to_string(i) + (i < 0 ? " is negative" : " is out of range"));
      return std::nullopt;
    }
    return static_cast<T>(i);
  }
  // An integer that must also lie in min..max.
  template <class T>
  std::optional<T> integer_in(const json& v, const std::string& field, T min, T max) {
    auto n = integer<T>(v, field);
    if (n && (*n < min || *n > max)) {
      fail(field, std::to_string(*n) + " is out of range " + std::to_string(min) + ".." +
                      std::to_string(max));
      return std::nullopt;
    }
    return n;
  }
  // A string of at most `max_len` bytes, control characters replaced (it may be printed).
  std::optional<std::string> text(const json& v, const std::string& field,
                                  std::size_t max_len = kMaxDataString) {
    if (!v.is_string()) {
      fail(field, "not a string");
      return std::nullopt;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_len) {
      fail(field,
           std::to_string(s.size()) + " bytes long (at most " + std::to_string(max_len) + ")");
      return std::nullopt;
    }
    return printable(s);
  }
  // A string as it is (for values checked by their own grammar afterwards, e.g. argv words).
  std::optional<std::string> raw_text(const json& v, const std::string& field) {
    if (!v.is_string()) {
      fail(field, "not a string");
      return std::nullopt;
    }
    return v.get<std::string>();
  }
  std::optional<bool> boolean(const json& v, const std::string& field) {
    if (!v.is_boolean()) {
      fail(field, "not true/false");
      return std::nullopt;
    }
    return v.get<bool>();
  }

  // ---- member + value: `out` is left alone when the member is absent or bad ----
  template <class T>
  void read(const json& obj, std::string_view key, const std::string& path, T& out, bool required) {
    const json* v = member(obj, key, path, required);
    if (!v)
      return;
    const std::string field = path + std::string(key);
    if constexpr (std::is_same_v<T, bool>) {
      if (auto b = boolean(*v, field))
        out = *b;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (auto s = text(*v, field))
        out = std::move(*s);
    } else {
      if (auto n = integer<T>(*v, field))
        out = *n;
    }
  }

private:
  const json* typed(const json& obj, std::string_view key, const std::string& path,
                    json::value_t type, const char* why) {
    const json* v = nullptr;
    if (obj.is_object())
      if (auto it = obj.find(key); it != obj.end())
        v = &*it;
    if (!v || v->type() != type) {
      fail(path + std::string(key), why);
      return nullptr;
    }
    return v;
  }

  ErrorFn make_error_;
  std::optional<Error> error_;
};

} // namespace harness
