#pragma once

#include "base/result.hpp"
#include "sender/payload.hpp"
#include "sender/send_record.hpp"
#include "sender/seq_set.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace harness::sender {

// What a receiver captured. Checked while frames arrive, so memory does not grow with the
// frame count: sequence numbers are kept as ranges, order is checked against the last one seen.
struct Received {
  SeqSet seen;                    // distinct sequence numbers of this run's intact frames
  std::uint64_t duplicates = 0;   // intact frames whose sequence number was already seen
  std::uint64_t out_of_order = 0; // lower than the last one from the same socket
  std::string first_disorder;     // the first duplicate or reordering, in words
  std::uint64_t bad_payload = 0;  // this run's frames whose bytes differ from what was sent
  std::string first_bad;          // the first such difference, in words
  std::uint64_t foreign = 0;      // frames of the EtherType that are not this run's
  std::uint64_t kernel_drops = 0; // the receive ring overflowed (PACKET_STATISTICS)

  // Records one intact frame; `ring` is the socket that sent it (see ring_of).
  void add(std::uint64_t seq, std::uint32_t ring);
  std::vector<std::int64_t> last_by_ring; // sized by the caller (one per socket)
};

// What the sender knows about each sequence number, for the comparison.
enum class Fate : std::uint8_t {
  not_sent = 0,  // never queued, or stranded: must not arrive
  sent = 1,      // the kernel gave the slot back: must arrive, once
  uncertain = 2, // still SENDING at the audit: may or may not arrive
  discarded = 3, // malformed and skipped by PACKET_LOSS: must not arrive
};

// Compactly: the sequence numbers that were queued, and those among them whose fate is not
// `sent` (at most the ring's frames in flight at the end, plus deliberately malformed ones).
struct SendOutcome {
  SeqSet queued;
  std::map<std::uint64_t, Fate> exceptions;
  Fate fate_of(std::uint64_t seq) const;
};

// Compares what arrived with what was sent: count, order (within each socket's share),
// duplicates, missing frames, payload bytes, frames that must not have arrived. Pure.
ReceiverCheck verify_reception(const Received& rx, const SendOutcome& sent);

// Which socket sends sequence number `seq` when `count` frames are shared by `sockets` sockets
// in contiguous ranges.
std::uint32_t ring_of(std::uint64_t seq, std::uint64_t count, std::uint32_t sockets);

// A packet socket with a TPACKET_V3 RX ring on the veth peer, read by its own thread. Create it
// in the namespace of the interface (the socket stays there).
class Receiver {
public:
  // `count` and `sockets` tell which socket sent a frame, for the order check.
  static Result<std::unique_ptr<Receiver>> start(const std::string& iface, int ifindex,
                                                 const PayloadLayout& layout, std::uint64_t count,
                                                 std::uint32_t sockets);
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver();

  // Stops once `expected` frames of this run arrived, or nothing arrived for `quiet`, or
  // `limit` passed; returns what was captured.
  Received finish(std::uint64_t expected, std::chrono::milliseconds quiet,
                  std::chrono::milliseconds limit);

private:
  Receiver() = default;
  void loop();
  void walk_block(std::uint8_t* block);

  int fd_ = -1;
  std::uint8_t* map_ = nullptr;
  std::size_t map_len_ = 0;
  std::uint32_t block_size_ = 0, blocks_ = 0;
  PayloadLayout layout_;
  std::uint64_t count_ = 0;
  std::uint32_t sockets_ = 1;
  std::string iface_;
  std::thread thread_;
  std::atomic<bool> finishing_{false};
  std::atomic<std::uint64_t> expected_{0};
  std::atomic<std::int64_t> quiet_ms_{0};
  std::atomic<std::int64_t> deadline_ns_{0};
  std::atomic<std::uint64_t> ours_{0};
  Received got_; // written by the thread only until it is joined
};

} // namespace harness::sender
