#include "sender/payload.hpp"

#include <gtest/gtest.h>
#include <vector>

using namespace harness::sender;

namespace {

PayloadLayout layout(bool dgram) {
  PayloadLayout l;
  l.dgram = dgram;
  l.dest = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  l.source = {0x02, 0, 0, 0, 0, 0x01};
  l.ethertype = 0x88b5;
  l.run_id = 0xdeadbeef;
  l.size = 64;
  return l;
}

// What the receiver sees for a DGRAM frame: the kernel's Ethernet header, then the data.
std::vector<std::uint8_t> on_wire(const PayloadLayout& l, std::vector<std::uint8_t> data) {
  if (!l.dgram)
    return data;
  std::vector<std::uint8_t> f(l.dest.begin(), l.dest.end());
  f.insert(f.end(), l.source.begin(), l.source.end());
  f.push_back(0x88);
  f.push_back(0xb5);
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

} // namespace

TEST(Payload, RawTemplateHasEthernetHeaderThenPayloadHeaderThenPattern) {
  const auto l = layout(false);
  auto d = make_template(l);
  ASSERT_EQ(d.size(), 64u);
  EXPECT_EQ(d[0], 0xff);
  EXPECT_EQ(d[6], 0x02);
  EXPECT_EQ(d[12], 0x88);
  EXPECT_EQ(d[13], 0xb5);
  EXPECT_EQ(std::string(d.begin() + 14, d.begin() + 18), "HXTR");
  EXPECT_EQ(d[18], 0xde); // run id, network order
  EXPECT_EQ(d[21], 0xef);
  for (std::size_t i = 30; i < d.size(); ++i)
    EXPECT_EQ(d[i], i & 0xff);
  stamp_seq(d.data(), l, 0x0102030405060708ull);
  EXPECT_EQ(d[22], 0x01);
  EXPECT_EQ(d[29], 0x08);
}

TEST(Payload, DgramTemplateStartsWithPayloadHeader) {
  const auto l = layout(true);
  auto d = make_template(l);
  EXPECT_EQ(std::string(d.begin(), d.begin() + 4), "HXTR");
  for (std::size_t i = 16; i < d.size(); ++i)
    EXPECT_EQ(d[i], i & 0xff);
}

TEST(Payload, CheckAcceptsIntactFramesAndNamesTheFirstDifference) {
  for (bool dgram : {false, true}) {
    const auto l = layout(dgram);
    auto d = make_template(l);
    stamp_seq(d.data(), l, 77);
    auto f = on_wire(l, d);
    auto c = check_received(f, l);
    EXPECT_TRUE(c.ours);
    EXPECT_EQ(c.seq, 77u);
    EXPECT_EQ(c.problem, "");

    auto bad = f;
    bad[40] ^= 1;
    c = check_received(bad, l);
    EXPECT_TRUE(c.ours);
    EXPECT_NE(c.problem.find("byte"), std::string::npos) << c.problem;

    bad = f;
    bad.pop_back();
    EXPECT_NE(check_received(bad, l).problem.find("length"), std::string::npos);

    auto other_run = l;
    other_run.run_id = 1;
    EXPECT_FALSE(check_received(f, other_run).ours);
  }
}
