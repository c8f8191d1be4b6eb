#include "sender/receiver.hpp"

#include <arpa/inet.h>
#include <ctime>
#include <linux/if_packet.h>
#include <poll.h>
#include <span>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace harness::sender {
namespace {

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// 32 blocks of 1 MiB: ~250,000 small frames fit even if the reader thread gets no CPU for a
// while (the sender and the kernel's softirq compete with it on a 2-core machine).
constexpr std::uint32_t kBlockSize = 1u << 20;
constexpr std::uint32_t kBlocks = 32;
constexpr std::uint32_t kFrameSize = 2048; // nominal for V3; the kernel packs frames tighter
constexpr unsigned kRetireMs = 10;

} // namespace

std::uint32_t ring_of(std::uint64_t seq, std::uint64_t count, std::uint32_t sockets) {
  if (sockets <= 1 || count == 0)
    return 0;
  // Socket k sends [k*count/sockets, (k+1)*count/sockets).
  for (std::uint32_t k = sockets; k-- > 0;)
    if (seq >= count * k / sockets)
      return k;
  return 0;
}

void Received::add(std::uint64_t seq, std::uint32_t ring) {
  if (!seen.insert(seq)) {
    ++duplicates;
    if (first_disorder.empty())
      first_disorder = "sequence number " + std::to_string(seq) + " arrived twice";
    return;
  }
  if (ring >= last_by_ring.size())
    last_by_ring.resize(ring + 1, -1);
  auto& prev = last_by_ring[ring];
  if (static_cast<std::int64_t>(seq) < prev) {
    ++out_of_order;
    if (first_disorder.empty())
      first_disorder =
          "sequence number " + std::to_string(seq) + " arrived after " + std::to_string(prev);
  } else {
    prev = static_cast<std::int64_t>(seq);
  }
}

Fate SendOutcome::fate_of(std::uint64_t seq) const {
  if (!queued.contains(seq))
    return Fate::not_sent;
  auto it = exceptions.find(seq);
  return it == exceptions.end() ? Fate::sent : it->second;
}

ReceiverCheck verify_reception(const Received& rx, const SendOutcome& sent) {
  ReceiverCheck c;
  c.foreign = rx.foreign;
  c.bad_payload = rx.bad_payload;
  c.kernel_drops = rx.kernel_drops;
  c.duplicates = rx.duplicates;
  c.out_of_order = rx.out_of_order;
  c.received = rx.seen.size();
  const auto problem = [&](const std::string& s) {
    if (c.first_problem.empty())
      c.first_problem = s;
  };
  problem(rx.first_bad);
  problem(rx.first_disorder);

  // must = what has to arrive; may = that plus what may or may not have left.
  SeqSet must = sent.queued;
  for (const auto& [seq, fate] : sent.exceptions)
    if (fate != Fate::sent)
      must.erase(seq);
  SeqSet may = must;
  for (const auto& [seq, fate] : sent.exceptions)
    if (fate == Fate::uncertain)
      may.insert(seq);
  c.expected = must.size();

  std::uint64_t first = 0;
  c.unexpected = rx.seen.count_not_in(may, &first);
  if (c.unexpected)
    problem("sequence number " + std::to_string(first) + " arrived although the sender " +
            (sent.fate_of(first) == Fate::discarded ? "made it malformed (discarded by PACKET_LOSS)"
                                                    : "did not send it"));
  c.missing = must.count_not_in(rx.seen, &first);
  if (c.missing)
    problem("sequence number " + std::to_string(first) + " was sent but never arrived");
  if (c.kernel_drops)
    problem("the receive ring dropped " + std::to_string(c.kernel_drops) + " frames");
  c.ok = c.missing == 0 && c.out_of_order == 0 && c.duplicates == 0 && c.bad_payload == 0 &&
         c.unexpected == 0 && c.kernel_drops == 0;
  return c;
}

Result<std::unique_ptr<Receiver>> Receiver::start(const std::string& iface, int ifindex,
                                                  const PayloadLayout& layout, std::uint64_t count,
                                                  std::uint32_t sockets) {
  std::unique_ptr<Receiver> r(new Receiver());
  r->layout_ = layout;
  r->count_ = count;
  r->sockets_ = sockets;
  r->iface_ = iface;
  r->got_.last_by_ring.assign(std::max<std::uint32_t>(sockets, 1), -1);
  r->fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (r->fd_ < 0)
    return fail(errno == EPERM ? Exit::not_root : Exit::io, "receiver socket on " + iface,
                errno_text(errno), "packet sockets need CAP_NET_RAW: run as root");
  const auto err = [&](const std::string& step) {
    return fail(Exit::io, "receiver on " + iface + ": " + step, errno_text(errno));
  };
  const int v3 = TPACKET_V3;
  if (::setsockopt(r->fd_, SOL_PACKET, PACKET_VERSION, &v3, sizeof v3) != 0)
    return err("PACKET_VERSION");
  tpacket_req3 req{};
  req.tp_block_size = kBlockSize;
  req.tp_block_nr = kBlocks;
  req.tp_frame_size = kFrameSize;
  req.tp_frame_nr = kBlockSize / kFrameSize * kBlocks;
  req.tp_retire_blk_tov = kRetireMs;
  if (::setsockopt(r->fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
    return err("PACKET_RX_RING");
  r->block_size_ = kBlockSize;
  r->blocks_ = kBlocks;
  r->map_len_ = static_cast<std::size_t>(kBlockSize) * kBlocks;
  void* m = ::mmap(nullptr, r->map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd_, 0);
  if (m == MAP_FAILED)
    return err("mmap");
  r->map_ = static_cast<std::uint8_t*>(m);
  // Binding with the EtherType registers the receive hook only now, with the ring in place.
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(layout.ethertype);
  sll.sll_ifindex = ifindex;
  if (::bind(r->fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
    return err("bind");
  r->thread_ = std::thread([p = r.get()] { p->loop(); });
  return r;
}

Receiver::~Receiver() {
  if (thread_.joinable()) {
    deadline_ns_ = now_ns();
    finishing_ = true;
    thread_.join();
  }
  if (map_)
    ::munmap(map_, map_len_);
  if (fd_ >= 0)
    ::close(fd_);
}

void Receiver::walk_block(std::uint8_t* block) {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
  const std::uint32_t n = desc->hdr.bh1.num_pkts;
  std::uint8_t* p = block + desc->hdr.bh1.offset_to_first_pkt;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto* h = reinterpret_cast<tpacket3_hdr*>(p);
    const std::span<const std::uint8_t> frame(p + h->tp_mac, h->tp_snaplen);
    auto c = check_received(frame, layout_);
    if (!c.ours) {
      ++got_.foreign;
    } else if (!c.problem.empty()) {
      ++got_.bad_payload;
      if (got_.first_bad.empty())
        got_.first_bad = "frame with sequence number " + std::to_string(c.seq) + ": " + c.problem;
      ours_.fetch_add(1, std::memory_order_relaxed);
    } else {
      got_.add(c.seq, ring_of(c.seq, count_, sockets_));
      ours_.fetch_add(1, std::memory_order_relaxed);
    }
    p += h->tp_next_offset;
  }
}

void Receiver::loop() {
  std::uint32_t cur = 0;
  std::int64_t last_activity = now_ns();
  for (;;) {
    auto* block = map_ + static_cast<std::size_t>(cur) * block_size_;
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
    if (__atomic_load_n(&desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) {
      walk_block(block);
      __atomic_store_n(&desc->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      cur = (cur + 1) % blocks_;
      last_activity = now_ns();
      continue;
    }
    if (finishing_.load()) {
      const std::int64_t t = now_ns();
      if (ours_.load() >= expected_.load() || t >= deadline_ns_.load() ||
          t - last_activity >= quiet_ms_.load() * 1'000'000)
        break;
    }
    pollfd pfd{fd_, POLLIN | POLLERR, 0};
    ::poll(&pfd, 1, 5);
  }
  // Frames in a block the kernel has not retired yet are still to be read: the loop above only
  // ends once the quiet period (longer than the retire timeout) or the deadline passed.
  tpacket_stats_v3 st{};
  socklen_t len = sizeof st;
  if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
    got_.kernel_drops = st.tp_drops;
}

Received Receiver::finish(std::uint64_t expected, std::chrono::milliseconds quiet,
                          std::chrono::milliseconds limit) {
  expected_ = expected;
  quiet_ms_ = std::max<std::int64_t>(quiet.count(), 2 * kRetireMs);
  deadline_ns_ = now_ns() + static_cast<std::int64_t>(limit.count()) * 1'000'000;
  finishing_ = true;
  if (thread_.joinable())
    thread_.join();
  return std::move(got_);
}

} // namespace harness::sender
