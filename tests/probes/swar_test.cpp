#include "probes/swar.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <string>

namespace harness::probes::swar {
namespace {

bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
std::uint32_t hex_value(const std::string& s) {
  std::uint32_t v = 0;
  for (char c : s)
    v = (v << 4) | static_cast<std::uint32_t>(std::stoul(std::string(1, c), nullptr, 16));
  return v;
}

// Every byte value in every position, the other seven a valid digit.
TEST(Swar, EightHexDigitsAgreesWithTheObviousTestForEveryByteInEveryPosition) {
  for (int pos = 0; pos < 8; ++pos)
    for (int b = 0; b < 256; ++b) {
      std::string s = "0123abcF";
      s[static_cast<size_t>(pos)] = static_cast<char>(b);
      EXPECT_EQ(eight_hex_digits(load8(s.data())), is_hex(static_cast<unsigned char>(b)))
          << "byte " << b << " at " << pos;
    }
}

TEST(Swar, EightHexValueOfRandomDigits) {
  std::mt19937 rng(7);
  const std::string digits = "0123456789abcdefABCDEF";
  for (int i = 0; i < 20000; ++i) {
    std::string s(8, '0');
    for (auto& c : s)
      c = digits[rng() % digits.size()];
    ASSERT_TRUE(eight_hex_digits(load8(s.data()))) << s;
    ASSERT_EQ(eight_hex_value(load8(s.data())), hex_value(s)) << s;
  }
  EXPECT_EQ(eight_hex_value(load8("ffff8880")), 0xffff8880u);
  EXPECT_EQ(eight_hex_value(load8("00000001")), 1u);
}

TEST(Swar, LeadingDigitsAndPaddingForEveryLengthAndEveryStopByte) {
  for (int n = 0; n <= 8; ++n)
    for (int b = 0; b < 256; ++b) {
      std::string s = std::string("98765432").substr(0, static_cast<size_t>(n)) +
                      std::string(8 - static_cast<size_t>(n), static_cast<char>(b));
      int want = 0;
      while (want < 8 && s[static_cast<size_t>(want)] >= '0' && s[static_cast<size_t>(want)] <= '9')
        ++want;
      const std::uint64_t x = load8(s.data());
      ASSERT_EQ(leading_digits(x), want) << "n " << n << " byte " << b;
      if (n >= 1 && n <= 7 && want == n) {
        std::string padded = std::string(8 - static_cast<size_t>(n), '0') + s.substr(0, n);
        ASSERT_EQ(pad_digits(x, n), load8(padded.data())) << n;
      }
    }
}

TEST(Swar, EqualForEveryLengthAndEveryDifferingPosition) {
  const std::string a = "set_status.v2_break_and_a_bit_more";
  for (size_t n = 0; n <= 30; ++n) {
    ASSERT_TRUE(equal(a.data(), std::string(a).data(), n)) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] ^= 0x01;
      ASSERT_FALSE(equal(a.data(), b.data(), n)) << n << " at " << i;
    }
  }
}

TEST(Swar, FindIsTheFirstOccurrence) {
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, 'x');
    for (auto& c : s)
      c = static_cast<char>(rng() % 4 == 0 ? ' ' : (rng() % 256));
    const char* e = s.data() + s.size();
    const char* want = s.data();
    while (want < e && *want != ' ')
      ++want;
    ASSERT_EQ(find(s.data(), e, ' '), want) << s;
  }
}

} // namespace
} // namespace harness::probes::swar
