#include "sender/payload.hpp"

#include <cstring>

namespace harness::sender {
namespace {

constexpr std::uint8_t kMagic[4] = {'H', 'X', 'T', 'R'};

void put_be32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8)
    p[i] = static_cast<std::uint8_t>(v);
}
void put_be64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    p[i] = static_cast<std::uint8_t>(v);
}
std::uint64_t get_be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | p[i];
  return v;
}

} // namespace

std::vector<std::uint8_t> make_template(const PayloadLayout& l) {
  std::vector<std::uint8_t> d(l.size);
  for (std::size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<std::uint8_t>(i & 0xff);
  const std::size_t h = l.header_offset();
  if (!l.dgram && d.size() >= 14) {
    std::memcpy(d.data(), l.dest.data(), 6);
    std::memcpy(d.data() + 6, l.source.data(), 6);
    d[12] = static_cast<std::uint8_t>(l.ethertype >> 8);
    d[13] = static_cast<std::uint8_t>(l.ethertype);
  }
  if (d.size() >= h + 16) {
    std::memcpy(d.data() + h, kMagic, 4);
    put_be32(d.data() + h + 4, l.run_id);
    put_be64(d.data() + h + 8, 0);
  }
  return d;
}

void stamp_seq(std::uint8_t* data, const PayloadLayout& l, std::uint64_t seq) {
  put_be64(data + l.seq_offset(), seq);
}

PayloadCheck check_received(std::span<const std::uint8_t> f, const PayloadLayout& l) {
  PayloadCheck c;
  // The receiver always sees the Ethernet header; the sender's data starts after it for DGRAM.
  const std::size_t base = l.dgram ? 14 : 0;
  const std::size_t h = 14;
  if (f.size() < h + 16 || std::memcmp(f.data() + h, kMagic, 4) != 0 ||
      get_be(f.data() + h + 4, 4) != l.run_id)
    return c;
  c.ours = true;
  c.seq = get_be(f.data() + h + 8, 8);
  const std::size_t expect_len = base + l.size;
  if (f.size() != expect_len) {
    c.problem = "length " + std::to_string(f.size()) + ", expected " + std::to_string(expect_len);
    return c;
  }
  if (std::memcmp(f.data(), l.dest.data(), 6) != 0) {
    c.problem = "destination MAC differs";
    return c;
  }
  if (get_be(f.data() + 12, 2) != l.ethertype) {
    c.problem = "EtherType differs";
    return c;
  }
  for (std::size_t i = h + 16; i < f.size(); ++i) {
    const auto want = static_cast<std::uint8_t>((i - base) & 0xff);
    if (f[i] != want) {
      c.problem = "byte " + std::to_string(i - base) + " is " + std::to_string(f[i]) +
                  ", expected " + std::to_string(want);
      return c;
    }
  }
  return c;
}

} // namespace harness::sender
