#pragma once

#include "base/result.hpp"
#include "sender/sender_config.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace harness::sender {

struct RingSetup {
  TpacketVersion version = TpacketVersion::v2;
  bool dgram = false;
  bool loss = false;
  bool qdisc_bypass = false;
  bool vnet_hdr = false;
  std::int64_t sndbuf = 0;
  std::uint32_t frame_size = 0;
  std::uint32_t block_size = 0;
  std::uint32_t frames = 0;
  int ifindex = 0;
  std::string iface; // for messages
  std::uint16_t ethertype = 0;
  std::array<std::uint8_t, 6> dest{}; // SOCK_DGRAM destination
  // Upper bound of one blocking send() (SO_SNDTIMEO), so no send() can block for long.
  std::chrono::milliseconds send_timeout{100};
};

// One AF_PACKET socket with a mapped PACKET_TX_RING, set up in small named steps (socket,
// version, loss, bypass, sndbuf, ring, mmap, bind). Owns the socket and the mapping.
// Must be created in the network namespace the interface lives in.
class TxRing {
public:
  static Result<TxRing> open(const RingSetup& s);

  TxRing(TxRing&& o) noexcept;
  TxRing& operator=(TxRing&&) = delete;
  TxRing(const TxRing&) = delete;
  TxRing& operator=(const TxRing&) = delete;
  ~TxRing();

  std::uint32_t frames() const { return frames_; }
  std::uint32_t frame_size() const { return frame_size_; }
  std::uint32_t frames_per_block() const { return per_block_; }
  std::uint32_t block_size() const { return block_size_; }
  std::uint32_t blocks() const { return frames_ / per_block_; }

  // tp_status of slot i, read with acquire semantics (the kernel writes it from another CPU).
  std::uint32_t status(std::uint32_t i) const;
  // Sets tp_status with release semantics, so the kernel sees the data written before it.
  void set_status(std::uint32_t i, std::uint32_t s);
  void set_len(std::uint32_t i, std::uint32_t len);
  // Where the packet data of slot i starts (the kernel reads it at tp_hdrlen - sockaddr_ll).
  std::uint8_t* data(std::uint32_t i);

  // One send() on the ring: MSG_DONTWAIT or blocking (bounded by RingSetup::send_timeout).
  // Returns bytes the kernel took, or -errno. After close_socket() returns -EBADF.
  long send(bool dontwait);

  // Fault injection (-e 1): close the descriptor; the mapping keeps the socket alive, so frames
  // already taken still complete, but no send() is possible any more.
  void close_socket();
  bool socket_closed() const { return fd_.load() < 0; }
  // Fault injection (-e 2): PACKET_TX_RING again with the same geometry; returns 0 or errno.
  int set_ring_again();

  int fd() const { return fd_.load(); }

private:
  TxRing() = default;
  std::uint8_t* frame(std::uint32_t i) const;

  std::atomic<int> fd_{-1};
  std::uint8_t* map_ = nullptr;
  std::size_t map_len_ = 0;
  TpacketVersion version_ = TpacketVersion::v2;
  std::uint32_t frames_ = 0, frame_size_ = 0, block_size_ = 0, per_block_ = 1;
  std::uint32_t data_off_ = 0;
  bool dgram_ = false;
  int ifindex_ = 0;
  std::uint16_t ethertype_ = 0;
  std::array<std::uint8_t, 6> dest_{};
};

// Maps errno from PACKET_TX_RING to the user-facing error: ENOMEM names the ring size and
// MemAvailable; EINVAL with TPACKET_V3 means the kernel has no V3 TX ring (before 4.11).
// Pure, for tests.
Error ring_setup_error(int err, const RingSetup& s, std::uint64_t mem_available_kib);

} // namespace harness::sender
