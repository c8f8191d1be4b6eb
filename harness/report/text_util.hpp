#pragma once

// Small formatting helpers shared by the report renderings.

#include <cstdint>
#include <string>
#include <vector>

namespace harness::report {

// "850 ns", "12.3 us", "4.56 ms", "1.23 s".
std::string format_duration(std::uint64_t ns);
// "0xffff888004a1c000".
std::string format_hex(std::uint64_t v);
// "seq 3, 4, 9 (and 12 more)" style lists.
std::string format_list(const std::vector<std::uint64_t>& v, std::uint64_t total);
std::string format_index_list(const std::vector<std::int64_t>& v, std::uint64_t total);
// "1 frame" / "3 frames".
std::string plural(std::uint64_t n, const std::string& one, const std::string& many);
// Name of a TP_STATUS value with timestamp flags masked: "SENDING", or the number.
std::string status_text(std::uint32_t raw);
// "-105 (ENOBUFS)" style.
std::string errno_value_text(std::int64_t err);

} // namespace harness::report
