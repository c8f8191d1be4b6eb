#pragma once

// The number grammar of trace records (docs/DESIGN.md "Trace format"): unsigned decimals, -decimals
// (two's complement) and 0x-hex, `?` for a value not read. One home for the trace parser (hot
// loop: inline, eight bytes at a time) and for a tracer checking what it writes (the kprobe
// tracer prints `?` for what this grammar would not read).

#include "probes/swar.hpp"

#include <array>
#include <climits>
#include <cstdint>
#include <optional>
#include <string_view>

namespace harness::probes::trace_number {

constexpr std::array<std::uint8_t, 256> kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (int i = 0; i < 10; ++i)
    t[static_cast<std::size_t>('0' + i)] = static_cast<std::uint8_t>(i);
  for (int i = 0; i < 6; ++i) {
    t[static_cast<std::size_t>('a' + i)] = static_cast<std::uint8_t>(10 + i);
    t[static_cast<std::size_t>('A' + i)] = static_cast<std::uint8_t>(10 + i);
  }
  return t;
}();

// The value of eight ASCII digits (little-endian SWAR, as in simdjson / fast_float).
inline std::uint64_t eight_digits_value(std::uint64_t x) {
  x -= 0x3030303030303030ull;
  x = (x * 10) + (x >> 8);
  return (((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
          (((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
         32;
}

// Scanners: parse a number at p (stopping at the first byte that cannot belong to it) and
// return the end, or nullptr when there is no valid number there.
[[gnu::always_inline]] inline const char* scan_decimal(const char* p, const char* e,
                                                       std::uint64_t& out) {
  const char* s = p;
  std::uint64_t v = 0;
  // Eight bytes at a time: most values are short (cpu, pid, status, lengths) and end in the
  // first block; timestamps take two blocks, then the last digits one by one.
  if (e - p >= 8) {
    const std::uint64_t x = swar::load8(p);
    const int n = swar::leading_digits(x);
    if (n == 0)
      return nullptr;
    if (n < 8) {
      out = eight_digits_value(swar::pad_digits(x, n));
      return p + n;
    }
    v = eight_digits_value(x);
    p += 8;
    if (e - p >= 8)
      if (const std::uint64_t y = swar::load8(p); swar::leading_digits(y) == 8) {
        v = v * 100000000ull + eight_digits_value(y);
        p += 8;
      }
  }
  // Up to 19 digits cannot overflow; the 20th is checked, a 21st is always too many.
  while (p < e && p - s < 19 && static_cast<unsigned>(*p - '0') < 10) {
    v = v * 10 + static_cast<unsigned>(*p - '0');
    ++p;
  }
  if (p < e && static_cast<unsigned>(*p - '0') < 10) {
    const auto d = static_cast<unsigned>(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return nullptr;
    v = v * 10 + d;
    ++p;
    if (p < e && static_cast<unsigned>(*p - '0') < 10)
      return nullptr;
  }
  if (p == s)
    return nullptr;
  out = v;
  return p;
}

inline const char* scan_hex(const char* p, const char* e, std::uint64_t& out) {
  const char* s = p;
  std::uint64_t v = 0;
  // Kernel addresses are 16 digits: two blocks of eight, then the usual end checks.
  for (int block = 0; block < 2 && e - p >= 8; ++block) {
    const std::uint64_t x = swar::load8(p);
    if (!swar::eight_hex_digits(x))
      break;
    v = (v << 32) | swar::eight_hex_value(x);
    p += 8;
  }
  for (; p < e; ++p) {
    const std::uint8_t d = kHexValue[static_cast<unsigned char>(*p)];
    if (d > 15)
      break;
    v = (v << 4) | d;
  }
  if (p == s || p - s > 16)
    return nullptr;
  out = v;
  return p;
}

// A trace value: decimal, -decimal (two's complement), 0x-hex.
inline const char* scan_value(const char* p, const char* e, std::uint64_t& out) {
  if (e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    return scan_hex(p + 2, e, out);
  if (p < e && *p == '-') {
    const char* q = scan_decimal(p + 1, e, out);
    if (!q || out > static_cast<std::uint64_t>(INT64_MAX) + 1)
      return nullptr;
    out = ~out + 1;
    return q;
  }
  return scan_decimal(p, e, out);
}

inline std::optional<std::uint64_t> parse_decimal(std::string_view t) {
  std::uint64_t v = 0;
  const char* e = t.data() + t.size();
  const char* q = scan_decimal(t.data(), e, v);
  if (!q || q != e)
    return std::nullopt;
  return v;
}

// Timestamps (ns) and counts end below 2^63: the report writes them and a report.json read back
// refuses more as corruption (base/json_reader.hpp; fuzz_trace found one that passed).
inline constexpr std::uint64_t kMaxTraceNumber = static_cast<std::uint64_t>(INT64_MAX);
inline std::optional<std::uint64_t> parse_bounded(std::string_view t) {
  auto v = parse_decimal(t);
  if (v && *v > kMaxTraceNumber)
    return std::nullopt;
  return v;
}

} // namespace harness::probes::trace_number

namespace harness::probes {

// Parses an unsigned decimal or 0x-hex number; negative decimals become two's complement.
inline std::optional<std::uint64_t> parse_trace_number(std::string_view t) {
  std::uint64_t v = 0;
  const char* e = t.data() + t.size();
  const char* q = trace_number::scan_value(t.data(), e, v);
  if (!q || q != e)
    return std::nullopt;
  return v;
}

} // namespace harness::probes
