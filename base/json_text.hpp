#pragma once

// The one way harness turns JSON text into a document (every file format of docs/DESIGN.md
// "Files" and a user's --variant FILE); json_reader.hpp then walks it. Stricter than RFC 8259
// where a lenient reading would change what a file means: a key given twice in one object (which
// value counts would be a guess), a NUL byte (a reader stopping there would ignore the rest) and
// a number beyond a double's range are refused. Never throws.

#include <expected>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace harness {

// The document, or why the text is not one ("line 3, column 9: the key \"pid\" is given twice").
// With `top_level_keys`, a top-level object keeps only those keys: the value of any other key is
// read past as it is parsed, never held, so a file of a format whose readers ignore unknown keys
// costs memory for what the reader can use, not for whatever else it holds (a 100 MB array
// under an unknown key took 2 GB). A document too large for memory is an error, not a throw.
std::expected<nlohmann::json, std::string>
parse_json(std::string_view text, std::span<const std::string_view> top_level_keys = {});

} // namespace harness
