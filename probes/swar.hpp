#pragma once

// Eight bytes at a time ("SIMD within a register") for the trace parser's hot loops: where a
// word ends, and eight hex digits validated and converted at once. Little-endian loads (the
// first character is the lowest byte). Pure functions; swar_test.cpp checks them byte by byte
// against the obvious loops.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace harness::probes::swar {

inline constexpr std::uint64_t kOnes = 0x0101010101010101ull;
inline constexpr std::uint64_t kHigh = 0x8080808080808080ull;

inline std::uint64_t load8(const char* p) {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

// Whether n bytes at a and b are equal: overlapping word loads for 8-24 bytes (anchor names),
// memcmp otherwise.
inline bool equal(const char* a, const char* b, std::size_t n) {
  if (n >= 8 && n <= 16)
    return load8(a) == load8(b) && load8(a + n - 8) == load8(b + n - 8);
  if (n > 16 && n <= 24)
    return load8(a) == load8(b) && load8(a + 8) == load8(b + 8) &&
           load8(a + n - 8) == load8(b + n - 8);
  return std::memcmp(a, b, n) == 0;
}

// Bit 7 of each byte of `x` that equals `c` (exact for the lowest such byte; bytes above it may
// be flagged falsely, so only the lowest set bit is meaningful).
inline std::uint64_t bytes_equal(std::uint64_t x, char c) {
  const std::uint64_t v = x ^ (kOnes * static_cast<unsigned char>(c));
  return (v - kOnes) & ~v & kHigh;
}

// The first `c` in [p, e), or e.
inline const char* find(const char* p, const char* e, char c) {
  while (e - p >= 8) {
    if (const std::uint64_t m = bytes_equal(load8(p), c))
      return p + std::countr_zero(m) / 8;
    p += 8;
  }
  while (p < e && *p != c)
    ++p;
  return p;
}

// Bit 7 of each byte of `x` in [lo, hi] (lo, hi < 0x80; exact for every byte).
inline std::uint64_t bytes_between(std::uint64_t x, unsigned char lo, unsigned char hi) {
  // For 7-bit bytes b: b + (0x80 - lo) has bit 7 set iff b >= lo, b + (0x7f - hi) iff b > hi;
  // neither sum carries into the next byte. Bytes >= 0x80 are never in range (~x).
  return (x + kOnes * (0x80u - lo)) & ~(x + kOnes * (0x7fu - hi)) & ~x & kHigh;
}

// Bit 7 of each byte of `x` that is an ASCII digit.
inline std::uint64_t digit_bytes(std::uint64_t x) {
  return bytes_between(x, '0', '9');
}

// The number of leading ASCII digits of `x` (0-8).
inline int leading_digits(std::uint64_t x) {
  const std::uint64_t other = ~digit_bytes(x) & kHigh;
  return other ? std::countr_zero(other) / 8 : 8;
}

// `x` with its first n bytes (1-7 digits) moved to the end and '0's in front: eight digits with
// the same value, for a converter that takes exactly eight.
inline std::uint64_t pad_digits(std::uint64_t x, int n) {
  const unsigned shift = 8u * static_cast<unsigned>(8 - n);
  return (x << shift) | ((kOnes * '0') >> (64u - shift));
}

// Whether all eight bytes of `x` are hex digits (0-9, a-f, A-F).
inline bool eight_hex_digits(std::uint64_t x) {
  const std::uint64_t letter = bytes_between(x | (kOnes * 0x20), 'a', 'f'); // 'A'-'F' too
  return (digit_bytes(x) | letter) == kHigh;
}

// The value of eight hex digits (eight_hex_digits(x) must hold), first character most
// significant.
inline std::uint32_t eight_hex_value(std::uint64_t x) {
  // Nibbles: the low four bits, plus 9 for letters (bit 6 set).
  std::uint64_t n = (x & (kOnes * 0x0f)) + 9 * ((x >> 6) & kOnes);
  // Pairs of nibbles into bytes, pairs of bytes into 16-bit halves, then the two halves.
  n = ((n & 0x000f000f000f000full) << 4) | ((n & 0x0f000f000f000f00ull) >> 8);
  n = ((n & 0x000000ff000000ffull) << 8) | ((n & 0x00ff000000ff0000ull) >> 16);
  return static_cast<std::uint32_t>(((n & 0xffff) << 16) | ((n >> 32) & 0xffff));
}

} // namespace harness::probes::swar
