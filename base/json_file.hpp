#pragma once

// The one load path of the harness JSON files (docs/DESIGN.md "Files"): read the file, then the
// strict parser (base/json_text.hpp) and each format's own reader. Each format saves with
// write_file_atomic(path, its to_json text).

#include "base/files.hpp"
#include "base/result.hpp"

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace harness {

// A format whose reader takes the text and the path to name in its errors (plan, line map,
// kprobe definitions, kernel variant, guest job): PARSE(text, path). A file that cannot be read
// fails with read_file's error as it is.
template <class Parse>
auto load_json_file(const std::string& path, Parse&& parse)
    -> decltype(parse(std::string_view(), path)) {
  auto text = read_file(path);
  if (!text)
    return std::unexpected(text.error());
  return parse(*text, path);
}

// How a format that reads a parsed document names its file's faults: "WHAT PATH" as the error's
// `what`, the hint of a file that cannot be read and of one that is not JSON.
struct JsonFileFaults {
  std::string_view what;        // "report", "sender records"
  std::string_view read_hint;   // read_file failed (its code and why are kept)
  std::string_view syntax_hint; // not valid JSON (Exit::usage)
};

// The document of the file at PATH, keeping only `top_level_keys` (parse_json), for a format
// whose reader takes the document (report, sender records).
Result<nlohmann::json> load_json_document(const std::string& path,
                                          std::span<const std::string_view> top_level_keys,
                                          const JsonFileFaults& faults);

} // namespace harness
