#include "sender/sender.hpp"

#include "base/scratch_net.hpp"
#include "sender/link_info.hpp"
#include "sender/payload.hpp"
#include "sender/receiver.hpp"
#include "sender/send_loop.hpp"
#include "sender/tx_ring.hpp"

#include <algorithm>
#include <atomic>
#include <latch>
#include <linux/if_arp.h>
#include <optional>
#include <random>
#include <thread>
#include <unistd.h>

namespace harness::sender {
namespace {

// --tbf-rate: bytes a frame may take on the wire beyond its data (a virtio-net header, slack),
// and tc's largest queue limit worth asking for (its limit is 32 bits).
constexpr std::int64_t kTbfFrameSlack = 64;
constexpr std::int64_t kTbfMaxLimit = std::int64_t{1} << 30;

// Puts the interface's MTU back when the sender changed it (--mtu): the user's interface keeps
// the settings it had.
class MtuRestore {
public:
  MtuRestore() = default;
  MtuRestore(const MtuRestore&) = delete;
  MtuRestore& operator=(const MtuRestore&) = delete;
  void arm(LinkInfo link, unsigned old_mtu) {
    link_ = std::move(link);
    old_ = old_mtu;
  }
  Status restore() {
    if (!link_)
      return {};
    auto s = set_mtu(*link_, old_);
    link_.reset();
    return s;
  }
  ~MtuRestore() { (void)restore(); }

private:
  std::optional<LinkInfo> link_;
  unsigned old_ = 0;
};

Status check_link(const LinkInfo& link, const SenderConfig& c) {
  if (!link.up())
    return fail(Exit::interface, "interface " + link.name, "is down",
                "bring it up with `ip link set " + link.name + " up`");
  if (link.type != ARPHRD_ETHER && link.type != ARPHRD_LOOPBACK)
    return fail(Exit::interface, "interface " + link.name,
                "is not Ethernet (link type " + std::to_string(link.type) +
                    "): the sender writes Ethernet frames",
                "use an Ethernet, veth or loopback interface");
  const std::int64_t limit = static_cast<std::int64_t>(link.mtu) + (c.dgram ? 0 : 14);
  if (c.size > limit)
    return fail(Exit::usage, "--size " + std::to_string(c.size),
                "larger than the MTU of " + link.name + " (" + std::to_string(link.mtu) + ")" +
                    (c.dgram ? std::string()
                             : " plus the 14-byte Ethernet header = " + std::to_string(limit)),
                "lower --size to " + std::to_string(limit) + " or raise the MTU (--mtu " +
                    std::to_string(c.size - (c.dgram ? 0 : 14)) + ")");
  return {};
}

std::uint32_t pick_run_id() {
  std::random_device rd;
  std::uint32_t id = 0;
  while (id == 0)
    id = rd();
  return id;
}

// The namespace and the interface the frames go out on; what send_frames keeps until the end.
// Members are destroyed in reverse: leave the namespace before it is removed; restore the MTU
// while still inside it.
struct Network {
  std::optional<ScratchNet> net;
  std::optional<NetnsGuard> in_ns;
  LinkInfo link;
  MtuRestore mtu_restore;
  std::vector<std::string> notes;
};

// --veth: a throwaway namespace and veth pair; then enter the namespace the socket lives in.
Status enter_network(SenderConfig& c, Network& n) {
  if (c.veth) {
    if (::geteuid() != 0)
      return fail(Exit::not_root, "--veth",
                  "creating a network namespace and a veth pair needs root",
                  "run as root (sudo harness send --veth ...)");
    auto net = ScratchNet::create();
    if (!net)
      return std::unexpected(net.error());
    n.net.emplace(std::move(*net));
    if (c.tbf_rate != 0) {
      // About one frame of burst: tbf then holds the frames one by one. The queue holds all.
      const std::int64_t frame = c.size + kTbfFrameSlack;
      if (auto s = n.net->add_tbf(c.tbf_rate, frame,
                                  std::clamp<std::int64_t>(frame * c.count, 65536, kTbfMaxLimit));
          !s)
        return std::unexpected(s.error());
    }
    c.iface = n.net->tx_if();
    c.netns_path = n.net->path();
  }
  if (!c.netns_path.empty()) {
    auto g = NetnsGuard::enter(c.netns_path);
    if (!g)
      return std::unexpected(g.error());
    n.in_ns.emplace(std::move(*g));
  }
  return {};
}

// The interface: exists, --mtu applied (on both veth ends with --veth), up, Ethernet, holds --size.
Status prepare_link(const SenderConfig& c, Network& n) {
  auto link = query_link(c.iface);
  if (!link) {
    auto e = link.error();
    if (!c.netns_path.empty())
      e.why += " in network namespace " + c.netns_path;
    return std::unexpected(e);
  }
  if (c.mtu > 0 && static_cast<unsigned>(c.mtu) != link->mtu) {
    if (auto s = set_mtu(*link, static_cast<unsigned>(c.mtu)); !s)
      return s;
    n.mtu_restore.arm(*link, link->mtu);
    n.notes.push_back("MTU of " + link->name + " set to " + std::to_string(c.mtu) + " (was " +
                      std::to_string(link->mtu) + "; restored at the end)");
    link->mtu = static_cast<unsigned>(c.mtu);
    // A veth drops what is larger than its peer's MTU; with --veth both ends are ours.
    if (n.net) {
      auto peer = query_link(n.net->rx_if());
      if (!peer)
        return std::unexpected(peer.error());
      if (auto s = set_mtu(*peer, static_cast<unsigned>(c.mtu)); !s)
        return s;
    }
  }
  if (auto s = check_link(*link, c); !s)
    return s;
  if (!link->carrier())
    n.notes.push_back("interface " + link->name +
                      " has no carrier (IFF_RUNNING off): the kernel may drop every frame");
  n.link = std::move(*link);
  return {};
}

// The record's description of the run, before anything is sent.
SenderRecord record_header(const SenderConfig& c, const Network& n) {
  SenderRecord r;
  r.run_id = c.run_id ? c.run_id : pick_run_id();
  r.pid = static_cast<int>(::getpid());
  r.iface = c.iface;
  r.netns = n.net ? n.net->name() : c.netns_path;
  r.version = c.version;
  r.dgram = c.dgram;
  r.qdisc_bypass = c.qdisc_bypass;
  r.vnet_hdr = c.vnet_hdr;
  r.loss = c.loss;
  r.threaded = c.threaded;
  r.sockets = static_cast<std::uint32_t>(c.sockets);
  r.size = c.size;
  r.totals.requested = static_cast<std::uint64_t>(c.count);
  return r;
}

// What every ring's loop reads: the payload layout and the frame template (with --vnet-hdr, the
// virtio-net header in front).
LoopShared loop_shared(const SenderConfig& c, const LinkInfo& link, std::uint32_t run_id,
                       std::vector<FrameRecord>& records) {
  LoopShared shared;
  shared.config = &c;
  shared.layout.dgram = c.dgram;
  shared.layout.dest = c.dest_mac;
  shared.layout.source = link.mac;
  shared.layout.ethertype = c.ethertype;
  shared.layout.run_id = run_id;
  shared.layout.size = static_cast<std::size_t>(c.size);
  shared.frame_template = make_template(shared.layout);
  if (c.vnet_hdr) {
    // virtio_net_hdr: no offloads, hdr_len = the whole packet, so the kernel copies all of it
    // into the skb's linear part (little-endian: vio_le() for packet sockets).
    std::vector<std::uint8_t> vnet(kVnetHeaderBytes, 0);
    vnet[2] = static_cast<std::uint8_t>(c.size & 0xff);
    vnet[3] = static_cast<std::uint8_t>((c.size >> 8) & 0xff);
    shared.frame_template.insert(shared.frame_template.begin(), vnet.begin(), vnet.end());
  }
  shared.records = &records;
  return shared;
}

RingSetup ring_setup(const SenderConfig& c, const LinkInfo& link) {
  RingSetup setup;
  setup.version = c.version;
  setup.dgram = c.dgram;
  setup.loss = c.loss;
  setup.qdisc_bypass = c.qdisc_bypass;
  setup.vnet_hdr = c.vnet_hdr;
  setup.sndbuf = c.sndbuf;
  setup.frame_size = static_cast<std::uint32_t>(effective_frame_size(c));
  setup.block_size = static_cast<std::uint32_t>(effective_block_size(c));
  setup.frames = static_cast<std::uint32_t>(c.ring_frames);
  setup.ifindex = link.ifindex;
  setup.iface = link.name;
  setup.ethertype = c.ethertype;
  setup.dest = c.dest_mac;
  setup.send_timeout = std::min(std::chrono::milliseconds(100),
                                std::max(c.completion_timeout / 10, std::chrono::milliseconds(1)));
  return setup;
}

RingGeometry geometry_of(const RingSetup& setup) {
  const std::uint32_t per_block = setup.block_size / setup.frame_size;
  return RingGeometry{setup.frames, setup.frame_size, setup.block_size, per_block,
                      setup.frames / per_block};
}

// --veth: the receiver on the peer, started before the first frame.
Result<std::unique_ptr<Receiver>> start_receiver(const Network& n, const LoopShared& shared,
                                                 std::uint64_t count, std::uint32_t n_rings) {
  auto peer = query_link(n.net->rx_if());
  if (!peer)
    return std::unexpected(peer.error());
  return Receiver::start(peer->name, peer->ifindex, shared.layout, count, n_rings);
}

// Each ring is opened, run and closed by its own thread, so that the kernel's RCU grace
// periods in PACKET_TX_RING and in the socket's release (synchronize_net) overlap instead of
// adding up. Nothing is sent until every ring is open. Threads started here inherit this
// thread's network namespace.
Result<std::vector<LoopResult>> run_rings(const RingSetup& setup, const LoopShared& shared,
                                          std::uint64_t count, std::uint32_t n_rings) {
  std::vector<LoopResult> results(n_rings);
  std::vector<std::optional<Error>> open_errors(n_rings);
  std::latch opened(n_rings);
  std::atomic<bool> open_failed{false};
  const auto work = [&](std::uint32_t k) {
    auto ring = TxRing::open(setup);
    if (!ring) {
      open_errors[k] = ring.error();
      open_failed = true;
    }
    opened.arrive_and_wait();
    if (open_failed)
      return;
    results[k] = run_ring(*ring, k, shared, count * k / n_rings, count * (k + 1) / n_rings);
  };
  if (n_rings == 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (std::uint32_t k = 0; k < n_rings; ++k)
      threads.emplace_back(work, k);
    for (auto& t : threads)
      t.join();
  }
  for (auto& e : open_errors)
    if (e)
      return std::unexpected(*e);
  return results;
}

// The rings' totals, flags, slots and notes, summed into the record.
void merge_results(const std::vector<LoopResult>& results, SenderRecord& r,
                   std::vector<std::string>& notes) {
  std::int64_t start = 0, end = 0;
  for (const auto& lr : results) {
    auto& t = r.totals;
    t.queued += lr.totals.queued;
    t.sent += lr.totals.sent;
    t.bytes += lr.totals.bytes;
    t.discarded += lr.totals.discarded;
    t.send_calls += lr.totals.send_calls;
    t.retries += lr.totals.retries;
    t.send_errors += lr.totals.send_errors;
    r.interrupted = r.interrupted || lr.interrupted;
    r.stalled = r.stalled || lr.stalled;
    if (lr.injected.kind)
      r.injected = lr.injected;
    start = start == 0 ? lr.start_ns : std::min(start, lr.start_ns);
    end = std::max(end, lr.end_ns);
    r.slots.insert(r.slots.end(), lr.slots.begin(), lr.slots.end());
    notes.insert(notes.end(), lr.notes.begin(), lr.notes.end());
  }
  r.totals.elapsed_ns = end - start;
}

// -e: how many of the frames queued before the fault were sent.
void count_sent_before_injection(SenderRecord& r, const std::vector<FrameRecord>& records) {
  if (!r.injected.kind)
    return;
  const std::uint64_t queued_before = r.injected.after_seq;
  std::uint64_t sent_before = 0;
  for (const auto& f : records)
    if (f.t_fill_ns != 0 && f.seq < queued_before && f.final_status == SlotStatus::available)
      ++sent_before;
  r.injected.outcome += "; of the " + std::to_string(queued_before) + " frames queued before it, " +
                        std::to_string(sent_before) + " were sent";
}

// --veth: what the peer saw, against what the rings say they sent.
ReceiverCheck check_reception(std::unique_ptr<Receiver> receiver, std::vector<LoopResult>& results,
                              const SenderRecord& r, const Network& n) {
  // On a veth pair the peer sees a frame right after its destructor ran; the quiet period
  // only matters when frames are missing.
  auto got = receiver->finish(r.totals.sent, std::chrono::milliseconds(200),
                              std::chrono::milliseconds(3000));
  receiver.reset();
  SendOutcome outcome;
  for (auto& lr : results) {
    for (const auto& range : lr.outcome.queued.ranges())
      outcome.queued.insert_range(range.lo, range.hi);
    outcome.exceptions.merge(lr.outcome.exceptions);
  }
  auto check = verify_reception(got, outcome);
  check.iface = n.net->rx_if();
  return check;
}

// Restore the MTU, leave and remove the namespace; what fails is a note, not an error.
void leave_network(Network& n) {
  if (auto s = n.mtu_restore.restore(); !s)
    n.notes.push_back("could not restore the MTU: " + s.error().why);
  n.in_ns.reset();
  if (n.net) {
    if (auto s = n.net->remove(); !s)
      n.notes.push_back("could not remove network namespace " + n.net->name() + ": " +
                        s.error().why + " (remove it with `ip netns delete " + n.net->name() +
                        "`)");
  }
}

} // namespace

Result<SenderRecord> send_frames(const SenderConfig& cfg) {
  if (auto v = validate(cfg); !v)
    return std::unexpected(v.error());
  SenderConfig c = cfg;
  const auto count = static_cast<std::uint64_t>(c.count);
  const auto n_rings = static_cast<std::uint32_t>(c.sockets);

  Network n;
  if (auto s = enter_network(c, n); !s)
    return std::unexpected(s.error());
  if (auto s = prepare_link(c, n); !s)
    return std::unexpected(s.error());

  SenderRecord r = record_header(c, n);
  std::vector<FrameRecord> records(
      std::min<std::uint64_t>(count, static_cast<std::uint64_t>(c.max_records)));
  const LoopShared shared = loop_shared(c, n.link, r.run_id, records);
  const RingSetup setup = ring_setup(c, n.link);
  r.ring = geometry_of(setup);

  std::unique_ptr<Receiver> receiver;
  if (c.veth) {
    auto rx = start_receiver(n, shared, count, n_rings);
    if (!rx)
      return std::unexpected(rx.error());
    receiver = std::move(*rx);
  }
  if (auto before = query_link(c.iface))
    r.before = before->counters;

  auto results = run_rings(setup, shared, count, n_rings);
  if (!results)
    return std::unexpected(results.error());
  merge_results(*results, r, n.notes);
  if (auto after = query_link(c.iface))
    r.after = after->counters;
  count_sent_before_injection(r, records);

  // Keep the records of frames that were filled (not the gap, not the unqueued tail), in place.
  std::erase_if(records, [](const FrameRecord& f) { return f.t_fill_ns == 0; });
  r.frames = std::move(records);
  if (count > static_cast<std::uint64_t>(c.max_records))
    n.notes.push_back("per-frame records kept for the first " + std::to_string(c.max_records) +
                      " of " + std::to_string(count) + " frames");
  if (receiver)
    r.receiver = check_reception(std::move(receiver), *results, r, n);

  leave_network(n);
  r.notes = std::move(n.notes);
  return r;
}

} // namespace harness::sender
