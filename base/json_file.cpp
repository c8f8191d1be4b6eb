#include "base/json_file.hpp"

#include "base/json_text.hpp"

namespace harness {

Result<nlohmann::json> load_json_document(const std::string& path,
                                          std::span<const std::string_view> top_level_keys,
                                          const JsonFileFaults& faults) {
  const std::string what = std::string(faults.what) + " " + path;
  auto text = read_file(path);
  if (!text)
    return fail(text.error().code, what, text.error().why, std::string(faults.read_hint));
  auto j = parse_json(*text, top_level_keys);
  if (!j)
    return fail(Exit::usage, what, "not valid JSON: " + j.error(), std::string(faults.syntax_hint));
  return std::move(*j);
}

} // namespace harness
