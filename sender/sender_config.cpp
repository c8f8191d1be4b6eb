#include "sender/sender_config.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <linux/if_packet.h>
#include <net/if.h>
#include <unistd.h>

namespace harness::sender {
namespace {

std::string str(std::int64_t v) {
  return std::to_string(v);
}

std::int64_t page_size() {
  const long p = ::sysconf(_SC_PAGESIZE);
  return p > 0 ? p : 4096;
}

// Bytes the kernel requires in a frame before any packet data: tp_hdrlen = aligned tpacket
// header + sockaddr_ll (packet_set_ring's min_frame_size with tp_reserve 0).
std::int64_t kernel_min_frame(TpacketVersion v) {
  switch (v) {
  case TpacketVersion::v1:
    return TPACKET_HDRLEN;
  case TpacketVersion::v2:
    return TPACKET2_HDRLEN;
  case TpacketVersion::v3:
    return TPACKET3_HDRLEN;
  }
  return TPACKET3_HDRLEN;
}

} // namespace

std::int64_t tpacket_header_bytes(TpacketVersion v) {
  // tpacket_parse_header: data = frame + tp_hdrlen - sizeof(struct sockaddr_ll).
  return kernel_min_frame(v) - static_cast<std::int64_t>(sizeof(sockaddr_ll));
}

std::int64_t min_frame_bytes(const SenderConfig& c) {
  return (c.dgram ? 0 : kEthernetHeaderBytes) + kPayloadHeaderBytes;
}

std::int64_t effective_frame_size(const SenderConfig& c) {
  return c.frame_size > 0 ? c.frame_size : page_size();
}

std::int64_t effective_block_size(const SenderConfig& c) {
  if (c.block_size > 0)
    return c.block_size;
  // The smallest block the kernel takes that holds a frame: the frame size rounded up to the
  // page size (one frame per block for page-sized frames, as packet_mmap.c had it).
  const std::int64_t page = page_size();
  return (effective_frame_size(c) + page - 1) / page * page;
}

namespace {
constexpr std::int64_t kMinTbfRate = 8'000;
constexpr std::int64_t kMaxTbfRate = 100'000'000'000;
} // namespace

std::optional<std::int64_t> parse_bit_rate(const std::string& s) {
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 12 || s[0] == '0')
    return std::nullopt;
  std::int64_t n = std::stoll(s.substr(0, digits));
  const std::string unit = s.substr(digits);
  if (unit == "bit")
    return n;
  if (unit == "kbit")
    return n * 1'000;
  if (unit == "mbit")
    return n * 1'000'000;
  if (unit == "gbit" && n <= 1'000)
    return n * 1'000'000'000;
  return std::nullopt;
}

SenderConfig with_fast_defaults(SenderConfig c, const GivenOptions& given) {
  const std::int64_t page = page_size();
  const std::int64_t header = tpacket_header_bytes(c.version);
  if (!given.qdisc_bypass && c.tbf_rate == 0) // the bypass would skip --tbf-rate's qdisc
    c.qdisc_bypass = true;
  if (!given.vnet_hdr) {
    // The header must fit the frame as given (or the largest fitted frame, the page size); a
    // frame without it that would fit keeps the zero-copy path rather than failing.
    const std::int64_t room = given.frame_size ? effective_frame_size(c) : page;
    c.vnet_hdr = !c.dgram && header + kVnetHeaderBytes + c.size <= room;
  }
  if (!given.frame_size && !given.ring_frames) {
    const std::int64_t need = header + (c.vnet_hdr ? kVnetHeaderBytes : 0) + c.size;
    std::int64_t frame = 2 * TPACKET_ALIGNMENT;
    while (frame < need && frame < page)
      frame *= 2;
    c.frame_size = frame;
  }
  if (!given.ring_frames) {
    // Whole blocks: a multiple of the frames per block (validate() names a bad geometry).
    const std::int64_t frame = effective_frame_size(c);
    const std::int64_t block = effective_block_size(c);
    const std::int64_t per_block = frame > 0 && block >= frame ? block / frame : 1;
    c.ring_frames = (kFastRingFrames + per_block - 1) / per_block * per_block;
  }
  return c;
}

namespace {

Status bad(std::string what, std::string why, std::string hint = {}) {
  return fail(Exit::usage, std::move(what), std::move(why), std::move(hint));
}

// Where the frames go: the interface, or the throwaway veth pair and its shaping.
Status validate_interface(const SenderConfig& c) {
  if (c.veth && (!c.iface.empty() || !c.netns_path.empty()))
    return bad("--veth",
               "makes its own throwaway namespace and veth pair, so it takes no " +
                   std::string(c.iface.empty() ? "--netns" : "interface '" + c.iface + "'"),
               "drop the interface/--netns, or drop --veth");
  if (c.tbf_rate != 0 && !c.veth)
    return bad("--tbf-rate", "shapes the throwaway veth pair only",
               "add --veth (harness never changes the qdisc of an interface it did not make)");
  if (c.tbf_rate != 0 && c.qdisc_bypass)
    return bad("--tbf-rate with --qdisc-bypass", "the bypass skips the qdisc layer, tbf included",
               "drop --qdisc-bypass");
  if (c.tbf_rate != 0 && (c.tbf_rate < kMinTbfRate || c.tbf_rate > kMaxTbfRate))
    return bad("--tbf-rate " + str(c.tbf_rate) + "bit", "out of range",
               "give 8kbit to 100gbit, e.g. --tbf-rate 100kbit");
  if (!c.veth && c.iface.empty())
    return bad("interface", "no interface given",
               "name one (`harness send eth0`) or use --veth for a throwaway veth pair");
  if (c.iface.size() >= IFNAMSIZ)
    return bad("interface '" + c.iface + "'",
               "name is " + str(static_cast<std::int64_t>(c.iface.size())) +
                   " characters; Linux interface names have at most " + str(IFNAMSIZ - 1),
               "check the name with `ip link`");
  return {};
}

// The ranges of the numbers and the options that exclude each other.
Status validate_options(const SenderConfig& c) {
  if (c.count <= 0)
    return bad("--count " + str(c.count), "must be at least 1",
               "give the number of frames to send");
  if (c.ring_frames <= 0)
    return bad("--ring-frames " + str(c.ring_frames), "must be at least 1",
               "the ring needs frames; 8192 is the default");
  if (c.frame_size < 0)
    return bad("--frame-size " + str(c.frame_size),
               "must be 0 (the page size) or a positive multiple of 16");
  if (c.block_size < 0)
    return bad("--block-size " + str(c.block_size),
               "must be 0 (the frame size rounded up to the page size) or a positive multiple "
               "of the page size");
  if (c.sndbuf < 0 || c.sndbuf > std::numeric_limits<int>::max())
    return bad("--sndbuf " + str(c.sndbuf),
               "must be between 0 (kernel default) and " + str(std::numeric_limits<int>::max()));
  if (c.mtu < 0 || (c.mtu > 0 && c.mtu < 68) || c.mtu > kMaxMtu)
    return bad("--mtu " + str(c.mtu), "must be 0 (leave it) or between 68 and 65535",
               "68 is the smallest MTU IPv4 allows, 65535 the largest a veth takes");
  if (c.send_every < 0)
    return bad("--send-every " + str(c.send_every),
               "must be 0 (send when the ring is full) or a positive number of frames");
  if (c.inject_error < 0 || c.inject_error > 2)
    return bad("--inject-error " + std::to_string(c.inject_error), "must be 1 or 2",
               "1 closes the socket half-way, 2 sets PACKET_TX_RING again half-way");
  if (c.sockets < 1 || c.sockets > 64)
    return bad("--sockets " + str(c.sockets), "must be between 1 and 64",
               "one socket per CPU is the useful maximum");
  if (c.sockets > 1 && c.threaded)
    return bad("--sockets " + str(c.sockets) + " with --threads",
               "each extra socket already has its own thread",
               "use either --threads (one ring, a second thread calling send()) or --sockets");
  if (c.sockets > 1 && c.inject_error != 0)
    return bad("--inject-error with --sockets " + str(c.sockets),
               "error injection works on a single ring", "drop --sockets");
  // A day at most: the bound is counted in nanoseconds, where more would overflow (a wait of
  // "-8446744073709 ms"), and no frame waits a day for its destructor.
  if (c.completion_timeout.count() <= 0 || c.completion_timeout > std::chrono::hours(24))
    return bad("--timeout-ms " + std::to_string(c.completion_timeout.count()),
               "must be from 1 to 86400000 (a day)", "it bounds every wait for the kernel");
  if (c.ethertype < 0x0600)
    return bad("--ethertype " + std::to_string(c.ethertype),
               "values below 0x0600 are 802.3 lengths, not EtherTypes",
               "use 0x88b5 (local experimental, the default) or another EtherType");
  if (c.vnet_hdr && c.dgram)
    return bad("--vnet-hdr with --dgram", "the kernel takes a virtio-net header on SOCK_RAW only",
               "drop one of them");
  if (c.max_records < 0)
    return bad("max_records " + str(c.max_records), "must not be negative");
  return {};
}

// Geometry, checked the way packet_set_ring() checks it, so the user sees the value and the
// limit instead of a bare EINVAL.
Status validate_geometry(const SenderConfig& c) {
  const std::int64_t page = page_size();
  const std::int64_t frame = effective_frame_size(c);
  const std::int64_t block = effective_block_size(c);
  const std::int64_t min_frame = kernel_min_frame(c.version);
  const std::string v = to_string(c.version);
  if (frame < min_frame)
    return bad("--frame-size " + str(frame),
               "smaller than the " + str(min_frame) + " bytes TPACKET_V" + v.substr(1) +
                   " needs for its frame header",
               "use at least " + str((min_frame + TPACKET_ALIGNMENT - 1) / TPACKET_ALIGNMENT *
                                     TPACKET_ALIGNMENT));
  if (frame % TPACKET_ALIGNMENT != 0)
    return bad("--frame-size " + str(frame),
               "must be a multiple of " + str(TPACKET_ALIGNMENT) + " (TPACKET_ALIGNMENT)",
               "use " + str(frame / TPACKET_ALIGNMENT * TPACKET_ALIGNMENT + TPACKET_ALIGNMENT));
  if (block % page != 0)
    return bad("--block-size " + str(block), "must be a multiple of the page size " + str(page),
               "use " + str((block + page - 1) / page * page));
  if (block < frame)
    return bad("--block-size " + str(block),
               "smaller than the frame size " + str(frame) + ": a block must hold a frame",
               "use a block size of at least " + str((frame + page - 1) / page * page));
  if (block > std::numeric_limits<std::uint32_t>::max() / 2)
    return bad("--block-size " + str(block), "larger than the kernel's limit of 2^31 bytes");
  const std::int64_t per_block = block / frame;
  if (c.ring_frames % per_block != 0)
    return bad("--ring-frames " + str(c.ring_frames),
               "not a multiple of the " + str(per_block) + " frames per block (block " +
                   str(block) + " / frame " + str(frame) + ")",
               "use " + str((c.ring_frames + per_block - 1) / per_block * per_block) +
                   " ring frames");
  if (c.ring_frames > std::numeric_limits<std::uint32_t>::max())
    return bad("--ring-frames " + str(c.ring_frames),
               "larger than the kernel's limit of 2^32-1 frames");
  return {};
}

// --size against the frame that must hold it (after the TPACKET header and the virtio-net
// header) and against the largest MTU.
Status validate_size(const SenderConfig& c) {
  const std::int64_t frame = effective_frame_size(c);
  const std::string v = to_string(c.version);
  const std::int64_t vnet = c.vnet_hdr ? kVnetHeaderBytes : 0;
  const std::int64_t data_room = frame - tpacket_header_bytes(c.version) - vnet;
  if (c.size < min_frame_bytes(c))
    return bad("--size " + str(c.size),
               "below the minimum of " + str(min_frame_bytes(c)) + " bytes" +
                   (c.dgram ? " (the 16-byte payload header)"
                            : " (14-byte Ethernet header + 16-byte payload header)"),
               "use --size " + str(min_frame_bytes(c)) + " or more");
  // No interface carries more than the largest MTU a veth takes (and --mtu accepts): a larger
  // --size could only be followed by suggestions that are refused in turn.
  const std::int64_t max_size = kMaxMtu + (c.dgram ? 0 : kEthernetHeaderBytes);
  if (c.size > max_size)
    return bad("--size " + str(c.size),
               "larger than any interface carries: the largest MTU, " + str(kMaxMtu) +
                   (c.dgram ? std::string() : ", plus the 14-byte Ethernet header") + " = " +
                   str(max_size),
               "use --size " + str(max_size) + " or less");
  // A frame that holds --size, rounded up to 16.
  std::int64_t suggested_frame = (c.size + tpacket_header_bytes(c.version) + vnet + 15) / 16 * 16;
  if (c.size > data_room)
    return bad("--size " + str(c.size),
               "larger than a frame can hold: frame size " + str(frame) + " minus the " +
                   str(tpacket_header_bytes(c.version)) + "-byte TPACKET_V" + v.substr(1) +
                   " header" + (vnet ? " and the 10-byte virtio-net header" : "") + " = " +
                   str(data_room),
               "raise --frame-size (e.g. " + str(suggested_frame) + ") or lower --size");
  return {};
}

} // namespace

Status validate(const SenderConfig& c) {
  if (auto s = validate_interface(c); !s)
    return s;
  if (auto s = validate_options(c); !s)
    return s;
  if (auto s = validate_geometry(c); !s)
    return s;
  return validate_size(c);
}

std::string to_string(TpacketVersion v) {
  return "v" + std::to_string(static_cast<int>(v));
}

std::optional<TpacketVersion> parse_tpacket_version(const std::string& s) {
  if (s == "v1" || s == "1" || s == "V1")
    return TpacketVersion::v1;
  if (s == "v2" || s == "2" || s == "V2")
    return TpacketVersion::v2;
  if (s == "v3" || s == "3" || s == "V3")
    return TpacketVersion::v3;
  return std::nullopt;
}

std::optional<std::array<std::uint8_t, 6>> parse_mac(const std::string& s) {
  std::array<std::uint8_t, 6> mac{};
  if (s.size() != 17)
    return std::nullopt;
  for (std::size_t i = 0; i < 6; ++i) {
    const char* p = s.data() + i * 3;
    if (i < 5 && p[2] != ':' && p[2] != '-')
      return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p, p + 2, v, 16);
    if (ec != std::errc{} || end != p + 2)
      return std::nullopt;
    mac[i] = static_cast<std::uint8_t>(v);
  }
  return mac;
}

std::string format_mac(const std::array<std::uint8_t, 6>& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

} // namespace harness::sender
