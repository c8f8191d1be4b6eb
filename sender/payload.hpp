#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace harness::sender {

// The bytes every frame carries (DESIGN.md "Sender records"): with SOCK_RAW an Ethernet header
// (dest, source, EtherType) first; then the 16-byte payload header — magic "HXTR", run id (u32,
// network order), sequence number (u64, network order); then byte i of the packet data is
// i & 0xff. With SOCK_DGRAM the kernel writes the link header and the data starts with the
// payload header.
struct PayloadLayout {
  bool dgram = false;
  std::array<std::uint8_t, 6> dest{};
  std::array<std::uint8_t, 6> source{};
  std::uint16_t ethertype = 0;
  std::uint32_t run_id = 0;
  std::size_t size = 0; // tp_len

  std::size_t header_offset() const { return dgram ? 0 : 14; }
  std::size_t seq_offset() const { return header_offset() + 8; }
};

// The whole packet data for sequence number 0; frames are a copy of it with the sequence number
// patched in (stamp_seq), which keeps the fill loop to one memcpy and one store.
std::vector<std::uint8_t> make_template(const PayloadLayout& l);
void stamp_seq(std::uint8_t* data, const PayloadLayout& l, std::uint64_t seq);

// Checks a frame as a receiver on the peer sees it: always with its Ethernet header.
struct PayloadCheck {
  bool ours = false;     // magic and run id match this run
  std::uint64_t seq = 0; // valid when ours
  std::string problem;   // empty when every byte is as sent
};
PayloadCheck check_received(std::span<const std::uint8_t> frame, const PayloadLayout& l);

} // namespace harness::sender
