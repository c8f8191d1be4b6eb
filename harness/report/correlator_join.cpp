// Joining a kernel use of a ring slot with the sender's record of the frame it carried: which
// ring a socket is, which queued frame a use is, and the frames the kernel was never seen to take.
#include "harness/report/correlator.hpp"
#include "harness/report/correlator_internal.hpp"

#include <algorithm>

namespace harness::report {
namespace {

using correlator_detail::first_kernel_ts;

} // namespace

void Correlator::join(Socket& s, FrameTimeline& tl, bool near_loss) {
  if (tl.index < 0) {
    ++stats_.unmapped_uses;
    tl.outcome = Outcome::unmatched;
    return;
  }
  if (!sender_) {
    // Kernel view only (`run --exec`, a trace alone): each socket's ring is numbered in the
    // order its first frame came out, so the frames of several rings stay apart.
    if (!s.ring_known) {
      s.ring = next_ring_++;
      s.ring_known = true;
    }
    tl.ring = s.ring;
    return;
  }
  const auto index = static_cast<std::uint32_t>(tl.index);
  const std::uint64_t first = first_kernel_ts(tl);
  if (!s.ring_known && !place_socket(s, index, first)) {
    tl.outcome = Outcome::unmatched;
    return;
  }
  tl.ring = s.ring;
  const auto* f = sender_->peek(s.ring, index);
  if (!f) {
    tl.outcome = Outcome::unmatched;
    return;
  }
  // Near lost records a use may be a piece of an earlier frame's (split by the loss): the kernel
  // cannot have seen a frame before the sender requested it, so this use is not that frame's.
  if (near_loss && first != 0 && f->t_request_ns > 0 &&
      first + LossMap::kMarginNs < static_cast<std::uint64_t>(f->t_request_ns)) {
    tl.outcome = Outcome::unmatched;
    tl.in_loss = true; // a piece the loss made, not a use the kernel made up
    return;
  }
  sender::FrameRecord cur = *f;
  sender_->pop(s.ring, index);
  cur = pass_unseen(s.ring, index, cur, first);
  tl.has_sender = true;
  tl.sender = cur;
}

bool Correlator::place_socket(Socket& s, std::uint32_t index, std::uint64_t first) {
  if (sender_->rings() <= 1) {
    s.ring = 0;
  } else {
    // Several rings (--sockets): the socket belongs to the ring whose waiting frame for this
    // slot was requested last before the kernel saw it.
    std::int64_t best = -1;
    std::int64_t best_t = 0;
    bool best_before = false;
    for (std::uint32_t ring = 0; ring < sender_->rings(); ++ring) {
      if (ring < ring_taken_.size() && ring_taken_[ring])
        continue;
      const auto* f = sender_->peek(ring, index);
      if (!f)
        continue;
      const bool before = first == 0 || f->t_request_ns <= static_cast<std::int64_t>(first);
      if (best < 0 || (before && (!best_before || f->t_request_ns > best_t))) {
        best = ring;
        best_t = f->t_request_ns;
        best_before = before;
      }
    }
    if (best < 0)
      return false;
    s.ring = static_cast<std::uint32_t>(best);
    ring_taken_[s.ring] = true;
  }
  s.ring_known = true;
  return true;
}

sender::FrameRecord Correlator::pass_unseen(std::uint32_t ring, std::uint32_t index,
                                            sender::FrameRecord cur, std::uint64_t first) {
  // The k-th use of a slot is the k-th frame queued in it, unless the kernel's records of a
  // frame were lost: a frame queued in the slot after `cur` but before the kernel saw this use
  // shows that `cur` went by unseen.
  while (first != 0) {
    const auto* g = sender_->peek(ring, index);
    if (!g || g->t_request_ns <= 0 || static_cast<std::uint64_t>(g->t_request_ns) >= first)
      break;
    FrameTimeline missed;
    missed.has_sender = true;
    missed.sender = cur;
    missed.index = cur.index;
    missed.ring = cur.ring;
    missed.outcome = Outcome::not_seen;
    missed.in_loss =
        lossy(static_cast<std::uint64_t>(std::max<std::int64_t>(cur.t_request_ns, 0)), first);
    sink_(missed);
    cur = *g;
    sender_->pop(ring, index);
  }
  return cur;
}

} // namespace harness::report
