#include "base/json_text.hpp"

#include "base/printable.hpp"

#include <algorithm>
#include <set>
#include <vector>

namespace harness {
namespace {

using json = nlohmann::json;

// Line and column (from 1) of byte `at` of `text`.
std::string position_of(std::string_view text, std::size_t at) {
  at = std::min(at, text.size());
  const auto head = text.substr(0, at);
  const auto line = 1 + std::count(head.begin(), head.end(), '\n');
  const auto line_start = head.rfind('\n');
  const auto column = at - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// The keys seen so far in each object being read, innermost last, with the depth it started at.
// nlohmann reports no object_end for an object below a dropped key (parse_json's
// top_level_keys), so an object is also closed when a sibling or an outer key shows it ended.
class DuplicateKeys {
public:
  bool on_event(int depth, json::parse_event_t event, const json& parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
      close_from(depth);
      open_.push_back({depth, {}});
      break;
    case json::parse_event_t::object_end:
      if (!open_.empty())
        open_.pop_back();
      break;
    case json::parse_event_t::key:
      close_from(depth); // a key at depth d belongs to the object started at d - 1
      if (!open_.empty() && !open_.back().keys.insert(parsed.get<std::string>()).second &&
          first_.empty())
        first_ = parsed.get<std::string>();
      break;
    default:
      break;
    }
    return true;
  }
  const std::string& first() const { return first_; }

private:
  struct Open {
    int depth;
    std::set<std::string> keys;
  };
  void close_from(int depth) {
    while (!open_.empty() && open_.back().depth >= depth)
      open_.pop_back();
  }
  std::vector<Open> open_;
  std::string first_;
};

} // namespace

std::expected<json, std::string> parse_json(std::string_view text,
                                            std::span<const std::string_view> top_level_keys) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    return std::unexpected(position_of(text, nul) + ": a NUL byte (JSON text has none)");
  DuplicateKeys keys;
  json j;
  try {
    j = json::parse(text, [&](int depth, json::parse_event_t e, json& parsed) {
      const bool known = keys.on_event(depth, e, parsed);
      // Returning false for a key drops it and its value; nlohmann then builds none of the
      // value's elements (json_sax_dom_callback_parser keeps nothing below a dropped key).
      if (e == json::parse_event_t::key && depth == 1 && !top_level_keys.empty())
        return std::find(top_level_keys.begin(), top_level_keys.end(),
                         parsed.get_ref<const std::string&>()) != top_level_keys.end();
      return known;
    });
  } catch (const std::bad_alloc&) {
    return std::unexpected("too large to hold in memory (" + std::to_string(text.size() >> 20) +
                           " MB of JSON)");
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at ...": the text after the tag. Numbers
    // out of range (out_of_range.406) come here too; no exception leaves this function.
    const std::string what = e.what();
    const auto tag_end = what.find("] ");
    return std::unexpected(tag_end == std::string::npos ? what : what.substr(tag_end + 2));
  }
  if (!keys.first().empty())
    return std::unexpected("the key \"" + printable_bounded(keys.first(), 80) +
                           "\" is given twice in one object");
  return j;
}

} // namespace harness
