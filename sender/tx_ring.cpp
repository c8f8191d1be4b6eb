#include "sender/tx_ring.hpp"

#include "base/files.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace harness::sender {
namespace {

int kernel_version(TpacketVersion v) {
  switch (v) {
  case TpacketVersion::v1:
    return TPACKET_V1;
  case TpacketVersion::v2:
    return TPACKET_V2;
  case TpacketVersion::v3:
    return TPACKET_V3;
  }
  return TPACKET_V2;
}

std::string version_name(TpacketVersion v) {
  return "TPACKET_V" + std::to_string(static_cast<int>(v));
}

std::uint64_t mem_available_kib() {
  auto text = read_file("/proc/meminfo");
  if (!text)
    return 0;
  std::istringstream in(*text);
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (in >> key >> value >> unit)
    if (key == "MemAvailable:")
      return value;
  return 0;
}

std::string mib(double bytes) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << bytes / (1024.0 * 1024.0) << " MiB";
  return o.str();
}

// Steps 2 and 3 of TxRing::open: the frame header version, then the options that shape how the
// kernel treats frames.
Status set_socket_options(int fd, const RingSetup& s) {
  const auto opt = [&](int level, int name, int value, const char* what) -> Status {
    if (::setsockopt(fd, level, name, &value, sizeof value) == 0)
      return {};
    const int e = errno;
    return fail(Exit::io, std::string(what), errno_text(e));
  };

  // Step 2: the frame header version.
  const int ver = kernel_version(s.version);
  if (::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) != 0) {
    const int e = errno;
    if (e == EINVAL)
      return fail(Exit::unsupported, "--tpacket " + to_string(s.version),
                  "this kernel does not know " + version_name(s.version), "use --tpacket v2");
    return fail(Exit::io, "PACKET_VERSION " + version_name(s.version), errno_text(e));
  }
  // Step 3: options that shape how the kernel treats frames.
  if (s.loss)
    if (auto st = opt(SOL_PACKET, PACKET_LOSS, 1, "PACKET_LOSS"); !st)
      return std::unexpected(st.error());
  if (s.qdisc_bypass) {
    const int one = 1;
    if (::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) {
      const int e = errno;
      return fail(e == ENOPROTOOPT ? Exit::unsupported : Exit::io, "--qdisc-bypass",
                  "PACKET_QDISC_BYPASS: " + errno_text(e),
                  e == ENOPROTOOPT ? "the kernel predates 3.14; drop --qdisc-bypass" : "");
    }
  }
  if (s.vnet_hdr) {
    // Before the ring: the kernel refuses PACKET_VNET_HDR once a ring exists.
    const int one = 1;
    if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0) {
      const int e = errno;
      return fail(e == ENOPROTOOPT ? Exit::unsupported : Exit::io, "--vnet-hdr",
                  "PACKET_VNET_HDR: " + errno_text(e), "drop --vnet-hdr");
    }
  }
  if (s.sndbuf > 0) {
    // SO_SNDBUFFORCE (root) is not capped by net.core.wmem_max, which SO_SNDBUF silently is.
    const int v = static_cast<int>(s.sndbuf);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) != 0 &&
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) != 0)
      return fail(Exit::io, "--sndbuf " + std::to_string(s.sndbuf), errno_text(errno));
  }
  {
    timeval tv{};
    tv.tv_sec = s.send_timeout.count() / 1000;
    tv.tv_usec = static_cast<suseconds_t>((s.send_timeout.count() % 1000) * 1000);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
      return fail(Exit::io, "SO_SNDTIMEO", errno_text(errno));
  }
  return {};
}

// Step 6 of TxRing::open: bind to the interface (protocol 0: no receive hook), which also makes
// it the socket's cached device for send().
Status bind_to_interface(int fd, const RingSetup& s) {
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;
  sll.sll_ifindex = s.ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
    const int e = errno;
    return fail(e == ENODEV || e == ENETDOWN ? Exit::interface : Exit::io,
                "binding to interface " + s.iface, errno_text(e), "check it with `ip link`");
  }
  return {};
}

} // namespace

Error ring_setup_error(int err, const RingSetup& s, std::uint64_t mem_kib) {
  const double bytes =
      static_cast<double>(s.block_size) * (s.frames / (s.block_size / s.frame_size));
  const std::string geometry = std::to_string(s.frames) + " frames x " +
                               std::to_string(s.frame_size) + " bytes (blocks of " +
                               std::to_string(s.block_size) + ")";
  if (err == ENOMEM)
    return Error{Exit::usage, "--ring-frames " + std::to_string(s.frames),
                 "the kernel could not allocate a TX ring of " + mib(bytes) + " (" + geometry +
                     ", ENOMEM)" +
                     (mem_kib ? "; MemAvailable is " + mib(static_cast<double>(mem_kib) * 1024)
                              : std::string()),
                 "lower --ring-frames or --frame-size"};
  if (err == EINVAL && s.version == TpacketVersion::v3)
    return Error{Exit::unsupported, "--tpacket v3",
                 "this kernel refuses a TPACKET_V3 TX ring (TX support for V3 arrived in Linux "
                 "4.11)",
                 "use --tpacket v2"};
  if (err == EINVAL)
    return Error{Exit::usage, "ring geometry " + geometry,
                 "the kernel refuses it (EINVAL from PACKET_TX_RING)",
                 "use a frame size that is a multiple of 16 and a block size that is a multiple "
                 "of the page size and holds whole frames"};
  if (err == EPERM)
    return Error{Exit::not_root, "PACKET_TX_RING", errno_text(err), "run as root"};
  return Error{Exit::io, "PACKET_TX_RING (" + geometry + ")", errno_text(err), ""};
}

Result<TxRing> TxRing::open(const RingSetup& s) {
  TxRing r;
  r.version_ = s.version;
  r.frames_ = s.frames;
  r.frame_size_ = s.frame_size;
  r.block_size_ = s.block_size;
  r.per_block_ = s.block_size / s.frame_size;
  r.data_off_ = static_cast<std::uint32_t>(tpacket_header_bytes(s.version));
  r.dgram_ = s.dgram;
  r.ifindex_ = s.ifindex;
  r.ethertype_ = s.ethertype;
  r.dest_ = s.dest;

  // Step 1: the socket. Protocol 0: this socket only transmits, so it registers no receive hook.
  const int fd = ::socket(AF_PACKET, (s.dgram ? SOCK_DGRAM : SOCK_RAW) | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int e = errno;
    if (e == EPERM || e == EACCES)
      return fail(Exit::not_root, "socket(AF_PACKET)", errno_text(e),
                  "packet sockets need CAP_NET_RAW: run as root (sudo harness send ...)");
    return fail(Exit::io, "socket(AF_PACKET)", errno_text(e),
                e == EAFNOSUPPORT ? "the kernel lacks CONFIG_PACKET" : "");
  }
  r.fd_ = fd;
  if (auto st = set_socket_options(fd, s); !st)
    return std::unexpected(st.error());

  // Step 4: the ring. V3 takes tpacket_req3 with the RX-only fields zero.
  tpacket_req3 req{};
  req.tp_block_size = s.block_size;
  req.tp_block_nr = s.frames / r.per_block_;
  req.tp_frame_size = s.frame_size;
  req.tp_frame_nr = s.frames;
  const socklen_t req_len =
      s.version == TpacketVersion::v3 ? sizeof(tpacket_req3) : sizeof(tpacket_req);
  if (::setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, req_len) != 0)
    return std::unexpected(ring_setup_error(errno, s, mem_available_kib()));

  // Step 5: map it.
  r.map_len_ = static_cast<std::size_t>(s.block_size) * req.tp_block_nr;
  void* m = ::mmap(nullptr, r.map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) {
    const int e = errno;
    if (e == ENOMEM)
      return std::unexpected(ring_setup_error(e, s, mem_available_kib()));
    return fail(Exit::io, "mmap of the TX ring (" + mib(static_cast<double>(r.map_len_)) + ")",
                errno_text(e));
  }
  r.map_ = static_cast<std::uint8_t*>(m);

  if (auto st = bind_to_interface(fd, s); !st)
    return std::unexpected(st.error());
  return r;
}

TxRing::TxRing(TxRing&& o) noexcept
    : fd_(o.fd_.exchange(-1)), map_(std::exchange(o.map_, nullptr)),
      map_len_(std::exchange(o.map_len_, 0)), version_(o.version_), frames_(o.frames_),
      frame_size_(o.frame_size_), block_size_(o.block_size_), per_block_(o.per_block_),
      data_off_(o.data_off_), dgram_(o.dgram_), ifindex_(o.ifindex_), ethertype_(o.ethertype_),
      dest_(o.dest_) {}

TxRing::~TxRing() {
  // Unmapping first drops the mapping's reference; closing then releases the socket, which
  // frees the ring (packet_release waits for nothing: frames still queued are dropped).
  if (map_)
    ::munmap(map_, map_len_);
  const int fd = fd_.exchange(-1);
  if (fd >= 0)
    ::close(fd);
}

std::uint8_t* TxRing::frame(std::uint32_t i) const {
  const std::uint32_t block = i / per_block_;
  const std::uint32_t in_block = i % per_block_;
  return map_ + static_cast<std::size_t>(block) * block_size_ +
         static_cast<std::size_t>(in_block) * frame_size_;
}

std::uint32_t TxRing::status(std::uint32_t i) const {
  auto* f = frame(i);
  switch (version_) {
  case TpacketVersion::v1: {
    auto* h = reinterpret_cast<tpacket_hdr*>(f);
    return static_cast<std::uint32_t>(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE));
  }
  case TpacketVersion::v2: {
    auto* h = reinterpret_cast<tpacket2_hdr*>(f);
    return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
  }
  case TpacketVersion::v3: {
    auto* h = reinterpret_cast<tpacket3_hdr*>(f);
    return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
  }
  }
  return 0;
}

void TxRing::set_status(std::uint32_t i, std::uint32_t s) {
  auto* f = frame(i);
  switch (version_) {
  case TpacketVersion::v1:
    __atomic_store_n(&reinterpret_cast<tpacket_hdr*>(f)->tp_status, static_cast<unsigned long>(s),
                     __ATOMIC_RELEASE);
    break;
  case TpacketVersion::v2:
    __atomic_store_n(&reinterpret_cast<tpacket2_hdr*>(f)->tp_status, s, __ATOMIC_RELEASE);
    break;
  case TpacketVersion::v3:
    __atomic_store_n(&reinterpret_cast<tpacket3_hdr*>(f)->tp_status, s, __ATOMIC_RELEASE);
    break;
  }
}

void TxRing::set_len(std::uint32_t i, std::uint32_t len) {
  auto* f = frame(i);
  switch (version_) {
  case TpacketVersion::v1: {
    auto* h = reinterpret_cast<tpacket_hdr*>(f);
    h->tp_len = len;
    h->tp_snaplen = len;
    break;
  }
  case TpacketVersion::v2: {
    auto* h = reinterpret_cast<tpacket2_hdr*>(f);
    h->tp_len = len;
    h->tp_snaplen = len;
    break;
  }
  case TpacketVersion::v3: {
    auto* h = reinterpret_cast<tpacket3_hdr*>(f);
    h->tp_len = len;
    h->tp_snaplen = len;
    h->tp_next_offset = 0; // the kernel refuses variable-sized V3 TX slots
    break;
  }
  }
}

std::uint8_t* TxRing::data(std::uint32_t i) {
  return frame(i) + data_off_;
}

long TxRing::send(bool dontwait) {
  const int fd = fd_.load();
  if (fd < 0)
    return -EBADF;
  const int flags = dontwait ? MSG_DONTWAIT : 0;
  ssize_t n;
  if (dgram_) {
    // SOCK_DGRAM needs a destination: the kernel builds the link header from it.
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ethertype_);
    to.sll_ifindex = ifindex_;
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, dest_.data(), ETH_ALEN);
    n = ::sendto(fd, nullptr, 0, flags, reinterpret_cast<sockaddr*>(&to), sizeof to);
  } else {
    n = ::sendto(fd, nullptr, 0, flags, nullptr, 0);
  }
  return n < 0 ? -errno : static_cast<long>(n);
}

void TxRing::close_socket() {
  const int fd = fd_.exchange(-1);
  if (fd >= 0)
    ::close(fd);
}

int TxRing::set_ring_again() {
  const int fd = fd_.load();
  if (fd < 0)
    return EBADF;
  tpacket_req3 req{};
  req.tp_block_size = block_size_;
  req.tp_block_nr = frames_ / per_block_;
  req.tp_frame_size = frame_size_;
  req.tp_frame_nr = frames_;
  const socklen_t len = version_ == TpacketVersion::v3 ? sizeof(tpacket_req3) : sizeof(tpacket_req);
  return ::setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, len) == 0 ? 0 : errno;
}

} // namespace harness::sender
