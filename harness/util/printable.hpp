#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace harness {

// Longest string harness accepts from a data file it reads (reports, sender records): longer
// ones are refused, so a crafted file cannot blow up a report (issue 12).
inline constexpr std::size_t kMaxDataString = 4096;

// TEXT made safe to print on a terminal: control characters (C0, DEL, C1, so every escape
// sequence) become '?'; tab and newline stay when `keep_newlines`. Valid UTF-8 is kept.
std::string printable(std::string_view text, bool keep_newlines = false);

} // namespace harness
