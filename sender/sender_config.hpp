#pragma once

#include "base/result.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace harness::sender {

// Values equal the kernel's TPACKET_Vn + 1 so they read as the user typed them (v1, v2, v3).
enum class TpacketVersion { v1 = 1, v2 = 2, v3 = 3 };

// Test-only fault injection: the sender misbehaves on purpose so tests can check that the
// audit sees what the kernel does with such a ring. Never set by the CLI.
struct SenderTestHooks {
  // Leave the slot of this sequence number AVAILABLE (a gap) while later frames are marked
  // SEND_REQUEST: the kernel stops at the gap and strands every frame behind it. -1: off.
  std::int64_t gap_at_seq = -1;
  // Give this sequence number a tp_len the kernel refuses (larger than the frame can hold):
  // WRONG_FORMAT without PACKET_LOSS, silently skipped with it. -1: off.
  std::int64_t malformed_seq = -1;
};

// Everything `harness send` (and `harness run`) can ask of the sender. Signed integers on purpose:
// validate() must be able to name a negative count instead of seeing it wrapped around. The
// defaults below are packet_mmap.c's ("classic", what `harness run` and `harness send --classic`
// use); `harness send` replaces those of the options the user did not give by
// with_fast_defaults() (docs/DESIGN.md "Sender defaults").
struct SenderConfig {
  std::string iface;               // interface to send on; empty with `veth`
  std::int64_t count = 1000;       // -c/--count/--frames: frames to send
  std::int64_t size = 150;         // -s/--size: bytes of packet data per frame (tp_len); with
                                   // SOCK_RAW this includes the 14-byte Ethernet header
  std::int64_t frame_size = 0;     // -b/--frame-size: ring frame size; 0 = the page size
  std::int64_t ring_frames = 8192; // -n/--ring-frames: frames in the ring
  std::int64_t block_size = 0;     // --block-size: ring block size; 0 = the frame size rounded
                                   // up to the page size (one frame per block for page-sized
                                   // frames, as packet_mmap.c did)
  std::int64_t sndbuf = 0;         // -z/--sndbuf: SO_SNDBUF; 0 = leave the default
  std::int64_t mtu = 0;            // -m/--mtu: set the interface MTU first; 0 = leave it
  std::int64_t send_every = 0;     // -j/--send-every: call send() after every N filled frames;
                                   // 0 = when the ring is full (packet_mmap.c's default).
                                   // packet_mmap.c's `-j MASK` equals --send-every MASK+1.
  int inject_error = 0;            // -e/--inject-error: 1 close() the socket half-way,
                                   // 2 set PACKET_TX_RING again half-way; 0 = none
  bool dgram = false;              // -g/--dgram: SOCK_DGRAM (kernel builds the link header)
  bool threaded = false;           // -t/--threads: a second thread calls blocking send()
  std::int64_t sockets = 1;        // --sockets N: N sockets, each with its own ring and thread,
                                   // share the frames (seq blocks round-robin) to use N CPUs.
                                   // Frames from different sockets may arrive interleaved.
  bool loss = false;               // -l/--loss: PACKET_LOSS (skip malformed frames)
  bool verbose = false;            // -v: the CLI prints every frame's record after the audit
  TpacketVersion version = TpacketVersion::v2; // --tpacket v1|v2|v3
  bool qdisc_bypass = false;                   // --qdisc-bypass: PACKET_QDISC_BYPASS
  // --vnet-hdr: PACKET_VNET_HDR; each frame starts with a virtio-net header whose hdr_len covers
  // the whole packet, so tpacket_snd copies the frame into the skb instead of attaching ring
  // pages (zero-copy frames are copied page by page when a veth forwards them). SOCK_RAW only;
  // TX rings honour it since Linux 4.10.
  bool vnet_hdr = false;
  std::array<std::uint8_t, 6> dest_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; // --dest
  std::uint16_t ethertype = 0x88b5; // --ethertype: IEEE 802 "local experimental" by default

  // Open the socket inside this network namespace (a path such as /run/netns/NAME); empty: the
  // caller's namespace. Interface checks and counters are read inside it too.
  std::string netns_path;
  // Throwaway namespace + veth pair (ScratchNet): send on its tx end, receive and verify every
  // frame on its rx end. `iface` and `netns_path` must be empty.
  bool veth = false;
  // --tbf-rate: a tbf qdisc of this many bits/s on the veth's tx end (needs `veth`), so frames
  // stay in flight until tbf releases them, one by one; 0 = none (a veth frees each skb at once).
  std::int64_t tbf_rate = 0;

  // How long to wait, in total, for frames the kernel still holds (SEND_REQUEST/SENDING) once
  // everything is queued, and how long the ring may make no progress before the sender gives
  // up on a full ring. Every wait in the sender is bounded by these.
  std::chrono::milliseconds completion_timeout{5000};

  // Run id written into every payload header; 0 = pick one (random).
  std::uint32_t run_id = 0;

  // Per-frame records are kept for the first this-many frames (56 bytes each); the totals and
  // the slot audit always cover every frame.
  std::int64_t max_records = 1'000'000;

  // Called before each send() (or hand-over to the --threads sender) with the frames queued so
  // far; it may block to let a tracer catch up (`harness run`'s pacing, docs/DESIGN.md "Lost
  // records"). Empty: never. It must return on an interrupt.
  std::function<void(std::uint64_t queued)> before_send;

  SenderTestHooks test_only; // see SenderTestHooks; leave default outside tests
};

// Which of the options that have fast defaults the user gave (the others are filled in).
struct GivenOptions {
  bool frame_size = false;   // -b/--frame-size
  bool block_size = false;   // --block-size
  bool ring_frames = false;  // -n/--ring-frames
  bool qdisc_bypass = false; // --qdisc-bypass
  bool vnet_hdr = false;     // --vnet-hdr
};

// Frames per ring with the fast defaults: the ring stays in the CPU caches and its set-up and
// tear-down in the kernel stay cheap (docs/DESIGN.md "Sender defaults").
inline constexpr std::int64_t kFastRingFrames = 256;

// `harness send`'s defaults for what the user did not give: qdisc bypass; a virtio-net header
// (the kernel copies each frame into the skb instead of referencing ring pages) unless --dgram or
// it does not fit the frame; a frame of the smallest power of two that holds --size (at most the
// page size; the page size when only -n is given, so -n N keeps packet_mmap.c's meaning: N
// page-sized frames); kFastRingFrames frames (whole blocks). One socket, send() when the ring is
// full and every other option stay as given. Pure: validate() the result.
SenderConfig with_fast_defaults(SenderConfig c, const GivenOptions& given);

// Bytes of the virtio-net header in front of each frame with --vnet-hdr.
inline constexpr std::int64_t kVnetHeaderBytes = 10;

// Bytes of the payload header at the start of every frame's payload (DESIGN.md "Sender records").
inline constexpr std::int64_t kPayloadHeaderBytes = 16;
inline constexpr std::int64_t kEthernetHeaderBytes = 14;
// The largest MTU --mtu accepts and a veth takes (IP_MAX_MTU).
inline constexpr std::int64_t kMaxMtu = 65535;

// Smallest --size the sender accepts for this socket type (link header + payload header).
std::int64_t min_frame_bytes(const SenderConfig& c);

// Bytes of ring frame used before the packet data for this TPACKET version (the tpacketN_hdr,
// aligned, plus sockaddr_ll, as the kernel computes it).
std::int64_t tpacket_header_bytes(TpacketVersion v);

// The frame size actually used (frame_size or the page size) and block size (block_size or the
// frame size rounded up to the page size).
std::int64_t effective_frame_size(const SenderConfig& c);
std::int64_t effective_block_size(const SenderConfig& c);

// Checks that need no socket and no interface: counts > 0, sizes within the frame, geometry the
// kernel accepts (frame size a multiple of 16, at least the header; block a multiple of the page
// size holding whole frames; ring frames a multiple of frames per block), option combinations. Each
// error names the value and the limit and gives a hint; code Exit::usage.
Status validate(const SenderConfig& c);

// "v1" / "v2" / "v3"; parse returns nullopt for anything else.
std::string to_string(TpacketVersion v);
std::optional<TpacketVersion> parse_tpacket_version(const std::string& s);

// "aa:bb:cc:dd:ee:ff" <-> bytes.
std::optional<std::array<std::uint8_t, 6>> parse_mac(const std::string& s);

// "100kbit", "2mbit", "1gbit", "9600bit" (tc's decimal units) -> bits/s; nullopt otherwise.
std::optional<std::int64_t> parse_bit_rate(const std::string& s);
std::string format_mac(const std::array<std::uint8_t, 6>& mac);

} // namespace harness::sender
