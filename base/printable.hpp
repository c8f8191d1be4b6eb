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

// printable() of at most the first `max_len` bytes of TEXT (cut on a UTF-8 character boundary,
// "..." marking the cut): for strings harness takes from outside and writes into its reports
// (a program's output lines, a process's /proc cmdline), so they print safely and load back.
std::string printable_bounded(std::string_view text, std::size_t max_len = kMaxDataString);

// A number option's value as the user would write it ("1e+308", "-5", "nan"), for errors.
std::string number_text(double v);

} // namespace harness
