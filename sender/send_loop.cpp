// One ring's send loop (run_ring): filling slots in ring order, keeping the ring moving with
// send(), waiting bounded for the kernel, fault injection, the drain and the slot audit.
#include "sender/send_loop.hpp"

#include "base/signals.hpp"
#include "sender/send_loop_internal.hpp"

#include <cstring>
#include <ctime>
#include <linux/if_packet.h>
#include <optional>
#include <poll.h>

namespace harness::sender {
namespace {

using loop_detail::cpu_relax;
using loop_detail::mono_ns;
using loop_detail::realtime_ns;
using loop_detail::retryable;
using loop_detail::SendThread;

constexpr std::int64_t kSlotFree = -1; // slot holds no frame of ours (never used or reclaimed)
constexpr std::int64_t kSlotGap = -2;  // test hook: deliberately left AVAILABLE
// After an interrupt, how long the frames the kernel holds may still take (README "Exit codes":
// 130 within about a second).
constexpr std::int64_t kInterruptedDrainNs = 1'000'000'000;

class RingLoop {
public:
  RingLoop(TxRing& ring, std::uint32_t ring_id, const LoopShared& sh, std::uint64_t first,
           std::uint64_t end)
      : ring_(ring), ring_id_(ring_id), sh_(sh), c_(*sh.config), first_(first), end_(end),
        next_seq_(first), unsent_from_(first), slot_seq_(ring.frames(), kSlotFree) {
    const auto frames = static_cast<std::int64_t>(ring.frames());
    batch_ = c_.send_every > 0 ? std::min(c_.send_every, frames) : frames;
    size_ = static_cast<std::uint32_t>(c_.size);
    vnet_ = c_.vnet_hdr ? static_cast<std::uint32_t>(kVnetHeaderBytes) : 0;
    len_ = size_ + vnet_;
    timeout_ns_ = static_cast<std::int64_t>(c_.completion_timeout.count()) * 1'000'000;
    const std::uint64_t count = static_cast<std::uint64_t>(c_.count);
    if (c_.inject_error != 0)
      inject_at_ = std::max<std::uint64_t>(count / 2, 1);
  }

  LoopResult run() {
    if (c_.threaded)
      sender_.emplace(ring_, sh_.records, first_);
    out_.start_ns = mono_ns();
    fill_all();
    publish_or_send();
    if (sender_) {
      sender_->stop();
      out_.totals.send_calls += sender_->calls();
      out_.totals.retries += sender_->retries();
      if (const long e = sender_->hard_error(); e != 0)
        hard_error("send() in the send thread", e);
    }
    drain();
    out_.end_ns = mono_ns();
    audit();
    return std::move(out_);
  }

private:
  // ---- filling -------------------------------------------------------------------------------

  void fill_all() {
    std::uint32_t head = 0;
    while (next_seq_ < end_) {
      if (interrupt_requested()) {
        out_.interrupted = true;
        return;
      }
      if (stop_)
        return;
      if (slot_seq_[head] != kSlotFree && !reclaim(head))
        return; // stalled, stranded, refused or interrupted: the drain and audit say why
      if (static_cast<std::int64_t>(next_seq_) == c_.test_only.gap_at_seq) {
        // Test hook: leave this slot AVAILABLE while the frames behind it are requested.
        slot_seq_[head] = kSlotGap;
        ++next_seq_;
      } else {
        fill(head, next_seq_++);
        ++out_.totals.queued;
        ++since_kick_;
      }
      head = head + 1 == ring_.frames() ? 0 : head + 1;
      if (inject_at_ && next_seq_ == inject_at_ && !injected_) {
        inject();
        if (stop_)
          return;
      }
      if (since_kick_ >= batch_)
        publish_or_send();
    }
  }

  void fill(std::uint32_t slot, std::uint64_t seq) {
    FrameRecord* rec = seq < sh_.records->size() ? &(*sh_.records)[seq] : nullptr;
    if (rec) {
      rec->seq = seq;
      rec->index = slot;
      rec->ring = ring_id_;
      rec->t_fill_ns = stamp();
    }
    // The template holds the virtio-net header too with --vnet-hdr; the packet follows it.
    std::uint8_t* d = ring_.data(slot);
    std::memcpy(d, sh_.frame_template.data(), len_);
    stamp_seq(d + vnet_, sh_.layout, seq);
    std::uint32_t len = len_;
    if (static_cast<std::int64_t>(seq) == c_.test_only.malformed_seq) {
      // Test hook: longer than the frame can hold, so tpacket_parse_header refuses it.
      len = ring_.frame_size();
      if (rec)
        rec->malformed = true;
    }
    ring_.set_len(slot, len);
    ring_.set_status(slot, TP_STATUS_SEND_REQUEST);
    if (rec) {
      ts_ = realtime_ns();
      rec->t_request_ns = ts_;
      rec->final_status = SlotStatus::send_request;
    }
    slot_seq_[slot] = static_cast<std::int64_t>(seq);
    out_.outcome.queued.insert(seq);
  }

  // The slot's previous frame is done when the kernel set it AVAILABLE again.
  void complete(std::uint32_t slot) {
    const std::int64_t s = slot_seq_[slot];
    slot_seq_[slot] = kSlotFree;
    if (s < 0)
      return;
    const auto seq = static_cast<std::uint64_t>(s);
    const bool malformed = static_cast<std::int64_t>(seq) == c_.test_only.malformed_seq;
    if (seq < sh_.records->size()) {
      auto& rec = (*sh_.records)[seq];
      rec.t_done_ns = stamp();
      rec.final_status = SlotStatus::available;
    }
    if (malformed) {
      ++out_.totals.discarded;
    } else {
      ++out_.totals.sent;
      out_.totals.bytes += size_;
    }
    if (malformed)
      out_.outcome.exceptions[seq] = Fate::discarded;
  }

  // Waits, bounded, until the kernel gives `slot` back, keeping the ring moving meanwhile.
  bool reclaim(std::uint32_t slot) {
    if (slot_seq_[slot] == kSlotGap) {
      // The deliberate gap (test hook) is due for reuse: filling it now would let the kernel
      // go on out of order, so it stays a gap and the frames behind it stay stranded.
      note("the deliberate gap at slot " + std::to_string(slot) +
           " (test hook) came round again; the kernel stopped there, so the frames behind it "
           "are stranded");
      stop_ = true;
      return false;
    }
    std::int64_t deadline = 0;
    for (int spins = 0;; ++spins) {
      const std::uint32_t raw = ring_.status(slot);
      const SlotStatus st = classify_status(raw);
      if (st == SlotStatus::available) {
        complete(slot);
        return true;
      }
      ts_ = 0; // waiting: the cached time is stale from here on
      if (interrupt_requested()) {
        out_.interrupted = true;
        return false;
      }
      if (st == SlotStatus::wrong_format || st == SlotStatus::unknown) {
        note("the kernel marked slot " + std::to_string(slot) + " " + std::string(status_name(st)) +
             " (tp_status " + std::to_string(raw) +
             "); it will not send past it, so filling stopped");
        stop_ = true;
        return false;
      }
      if (deadline == 0)
        deadline = mono_ns() + timeout_ns_;
      else if (mono_ns() > deadline) {
        out_.stalled = true;
        note("slot " + std::to_string(slot) + " stayed " + std::string(status_name(st)) + " for " +
             std::to_string(c_.completion_timeout.count()) + " ms; gave up waiting for the kernel" +
             retry_hint());
        return false;
      }
      if (st == SlotStatus::send_request) {
        // The kernel has not taken it yet: make sure a send() covers it. In threaded mode give
        // the send thread a moment first.
        if (sender_ && spins < 200) {
          publish_or_send(false); // this wait is bounded by the deadline: never paced here
          cpu_relax();
          continue;
        }
        const long r = send_now(true);
        if (r == 0 && ring_.status(slot) == TP_STATUS_SEND_REQUEST && slot_seq_[slot] >= 0) {
          // send() took nothing although this frame waits: the kernel's head is stuck at a
          // slot that is not SEND_REQUEST (a gap or a refused frame). Nothing behind it moves.
          note("send() took no frame although slot " + std::to_string(slot) +
               " is SEND_REQUEST: the kernel stopped at a slot that is not SEND_REQUEST; " +
               "the frames behind it are stranded");
          stop_ = true;
          return false;
        }
        if (r < 0 && !retryable(r))
          return false;
        if (r == -EAGAIN || r == -ENOBUFS)
          wait_writable();
        continue;
      }
      // SENDING: the kernel owns it until the skb's destructor runs (at once on veth; after the
      // TX completion on a NIC). poll() for POLLOUT sleeps until the kernel's head slot is
      // AVAILABLE again (the destructor wakes it), which is this slot once the kernel has taken
      // every requested frame.
      if (spins < 64) {
        cpu_relax();
        continue;
      }
      wait_writable();
    }
  }

  void wait_writable() {
    ts_ = 0;
    const int fd = ring_.fd();
    if (fd < 0) {
      timespec ts{0, 1'000'000};
      ::nanosleep(&ts, nullptr);
      return;
    }
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 1);
  }

  // ---- send() --------------------------------------------------------------------------------

  void publish_or_send(bool pace = true) {
    if (since_kick_ == 0 && next_seq_ == unsent_from_)
      return;
    since_kick_ = 0;
    if (pace && c_.before_send)
      c_.before_send(out_.totals.queued);
    if (sender_) {
      sender_->publish(next_seq_);
      unsent_from_ = next_seq_;
      return;
    }
    const long r = send_now(true);
    if (r < 0 && !retryable(r))
      stop_ = true;
  }

  // One send() from this thread; records the outcome. Returns bytes or -errno.
  long send_now(bool dontwait) {
    if (hard_error_seen_)
      return -EPIPE;
    const long r = ring_.send(dontwait);
    ts_ = 0;
    ++out_.totals.send_calls;
    if (r >= 0) {
      if (!sender_)
        stamp_sent();
      return r;
    }
    if (retryable(r)) {
      if (r == -EAGAIN || r == -ENOBUFS)
        ++out_.totals.retries;
      return r;
    }
    hard_error("send()", r);
    return r;
  }

  void stamp_sent() {
    const std::int64_t t = realtime_ns();
    for (std::uint64_t s = unsent_from_; s < next_seq_ && s < sh_.records->size(); ++s)
      (*sh_.records)[s].t_send_ns = t;
    unsent_from_ = next_seq_;
  }

  void hard_error(const std::string& what, long r) {
    ++out_.totals.send_errors;
    hard_error_seen_ = true;
    stop_ = true;
    std::string why = errno_text(static_cast<int>(-r));
    if (r == -EMSGSIZE || r == -EINVAL)
      why += " (a frame the kernel refuses: it is now WRONG_FORMAT)";
    else if (r == -ENETDOWN || r == -ENXIO)
      why += " (the interface went down or away)";
    else if (r == -EBADF)
      why += " (the socket is closed)";
    note(what + " failed: " + why + "; filling stopped");
  }

  // ---- fault injection (-e) ------------------------------------------------------------------

  void inject() {
    ts_ = 0;
    injected_ = true;
    out_.injected.kind = c_.inject_error;
    out_.injected.after_seq = next_seq_ - first_;
    if (c_.inject_error == 1) {
      ring_.close_socket();
      const long r = ring_.send(true);
      ++out_.totals.send_calls;
      if (r < 0)
        ++out_.totals.send_errors; // the failure the injection provokes is still a failure
      // Frames handed to send() before the close may still complete: the mapping keeps the
      // socket alive. Said only when there were some (issue 30, defect 15).
      const std::uint64_t handed = unsent_from_ - first_;
      out_.injected.outcome =
          "closed the socket; send() now fails (" +
          (r < 0 ? errno_text(static_cast<int>(-r)) : std::string("succeeded?")) +
          "), so no further frame can be sent; filling stopped; " +
          (handed == 0 ? std::string("no frame had been handed to send() before it")
                       : "the mapping keeps the socket alive, so the " + std::to_string(handed) +
                             " frames handed to send() before it could still complete");
      hard_error_seen_ = true;
      stop_ = true;
      return;
    }
    const int e = ring_.set_ring_again();
    if (e == 0) {
      out_.injected.outcome = "the kernel accepted a second PACKET_TX_RING, so the mapped ring "
                              "is no longer the socket's; filling stopped";
      stop_ = true;
    } else {
      out_.injected.outcome = "setsockopt(PACKET_TX_RING) again failed with " + errno_text(e) +
                              (e == EBUSY ? " (the kernel refuses to replace a ring that is "
                                            "mapped or has frames in flight)"
                                          : std::string()) +
                              "; sending went on with the original ring";
    }
  }

  // ---- the end -------------------------------------------------------------------------------

  // Waits, bounded, for every frame the kernel still holds. SEND_REQUEST frames get send()
  // calls; a send() that takes nothing while frames wait means they are stranded. An interrupt,
  // before or during the drain, leaves the kernel at most kInterruptedDrainNs more, counted
  // once: completions no longer extend it (a slow link would otherwise hold Ctrl-C off for
  // the whole queue).
  void drain() {
    std::int64_t bound = timeout_ns_;
    std::int64_t deadline = mono_ns() + bound;
    bool stranded = false;
    for (;;) {
      if (!out_.interrupted && interrupt_requested())
        out_.interrupted = true;
      if (out_.interrupted && bound > kInterruptedDrainNs) {
        bound = kInterruptedDrainNs;
        deadline = std::min(deadline, mono_ns() + bound);
      }
      ts_ = 0;
      std::uint64_t requested = 0, sending = 0, refused = 0, done = 0;
      for (std::uint32_t i = 0; i < ring_.frames(); ++i) {
        if (slot_seq_[i] < 0)
          continue;
        const SlotStatus st = classify_status(ring_.status(i));
        if (st == SlotStatus::available) {
          complete(i);
          ++done;
        } else if (st == SlotStatus::send_request) {
          ++requested;
        } else if (st == SlotStatus::sending) {
          ++sending;
        } else {
          ++refused;
        }
      }
      if (requested + sending == 0)
        return;
      if (done && !out_.interrupted)
        deadline = mono_ns() + bound;
      if (sending == 0 && (stranded || refused || hard_error_seen_ || ring_.socket_closed()))
        return; // nothing the kernel holds will move any more
      if (mono_ns() > deadline) {
        if (out_.interrupted) {
          note("interrupted: " + std::to_string(requested + sending) +
               " frames were still in flight; stopped waiting for them");
        } else if (!stranded && !refused && !hard_error_seen_ && !ring_.socket_closed()) {
          out_.stalled = true;
          note(std::to_string(requested + sending) + " frames were still in flight after " +
               std::to_string(bound / 1'000'000) + " ms; gave up waiting" + retry_hint());
        }
        return;
      }
      if (requested && !stranded && !hard_error_seen_ && !ring_.socket_closed()) {
        const long r = send_now(true);
        if (r == 0 && sending == 0)
          stranded = true; // the kernel takes nothing: a gap or a refused frame ahead
        if (r == -EAGAIN || r == -ENOBUFS)
          wait_writable();
        continue;
      }
      if (sending && !ring_.socket_closed() && !hard_error_seen_)
        send_now(false); // waits for completions, bounded by SO_SNDTIMEO
      else
        wait_writable();
    }
  }

  void audit() {
    ts_ = 0;
    out_.slots.reserve(ring_.frames());
    for (std::uint32_t i = 0; i < ring_.frames(); ++i) {
      const std::uint32_t raw = ring_.status(i);
      const SlotStatus st = classify_status(raw);
      out_.slots.push_back(SlotAudit{i, ring_id_, st, raw});
      const std::int64_t s = slot_seq_[i];
      if (s < 0)
        continue;
      if (st == SlotStatus::available) {
        complete(i);
        continue;
      }
      const auto seq = static_cast<std::uint64_t>(s);
      if (seq < sh_.records->size())
        (*sh_.records)[seq].final_status = st;
      out_.outcome.exceptions[seq] = st == SlotStatus::sending ? Fate::uncertain : Fate::not_sent;
    }
  }

  std::string retry_hint() const {
    if (out_.totals.retries == 0)
      return {};
    return " (send() answered ENOBUFS/EAGAIN " + std::to_string(out_.totals.retries) +
           " times: the socket buffer stayed full, or the device drops the frames - compare "
           "tx_dropped, and the peer's MTU with --size)";
  }

  // One clock read serves neighbouring steps when nothing happened between them: the slot seen
  // AVAILABLE (t_done of the old frame), the start of the new fill (t_fill) and the previous
  // frame's SEND_REQUEST store are a few instructions apart. Anything that waits or makes a
  // system call clears the cache. This keeps the fill loop to one clock read per frame.
  std::int64_t stamp() {
    if (ts_ == 0)
      ts_ = realtime_ns();
    return ts_;
  }

  void note(std::string s) {
    if (sh_.config->sockets > 1)
      s = "ring " + std::to_string(ring_id_) + ": " + s;
    out_.notes.push_back(std::move(s));
  }

  TxRing& ring_;
  std::uint32_t ring_id_;
  const LoopShared& sh_;
  const SenderConfig& c_;
  std::uint64_t first_, end_;
  std::uint64_t next_seq_;
  std::uint64_t unsent_from_; // first seq no send() has covered yet
  std::vector<std::int64_t> slot_seq_;
  std::int64_t batch_ = 1;
  std::int64_t since_kick_ = 0;
  std::uint32_t size_ = 0; // packet bytes
  std::uint32_t vnet_ = 0; // virtio-net header bytes in front of them
  std::uint32_t len_ = 0;  // tp_len
  std::int64_t timeout_ns_ = 0;
  std::uint64_t inject_at_ = 0;
  bool injected_ = false;
  bool stop_ = false;
  bool hard_error_seen_ = false;
  std::int64_t ts_ = 0; // cached CLOCK_REALTIME, see stamp()
  std::optional<SendThread> sender_;
  LoopResult out_;
};

} // namespace

LoopResult run_ring(TxRing& ring, std::uint32_t ring_id, const LoopShared& shared,
                    std::uint64_t first, std::uint64_t end) {
  RingLoop loop(ring, ring_id, shared, first, end);
  return loop.run();
}

} // namespace harness::sender
