// AVAILABLE on a kernel whose status stores no probe sees (-O2 inlines __packet_set_status):
// destruct.set_available's record comes before the destructor's store, and
// destruct.after_available's from a line after it (probes/anchors.hpp). A record of the second
// shows the store made only tied to a record of the first of the same frame on the same thread,
// by `ph` where both read it, else by `skb` (Debian 6.1's line after the store has no `ph`).
#include "harness/report/correlator.hpp"

#include <algorithm>

namespace harness::report {
namespace {

// Give-backs a thread has open at once: a destructor inside another (a softirq) is a few deep.
// More means the line after the store is not probed (an -O0 kernel, where the store's own
// record tells AVAILABLE): the oldest are forgotten.
constexpr std::size_t kGiveBacksKept = 8;

} // namespace

void Correlator::note_give_back(const TraceRecord& r, std::uint64_t ph) {
  auto& open = give_backs_[r.tid];
  if (open.size() == kGiveBacksKept)
    open.erase(open.begin());
  GiveBack g{ph, std::nullopt, r.ts_ns};
  if (r.has(Key::skb))
    g.skb = r.get(Key::skb);
  open.push_back(g);
}

void Correlator::on_after_available(Socket& s, const TraceRecord& r) {
  auto it = give_backs_.find(r.tid);
  if (it == give_backs_.end()) {
    unreadable(r); // no give-back of this thread: the line was reached some other way
    return;
  }
  auto& open = it->second;
  auto same = [&](const GiveBack& g) {
    if (r.has(Key::ph))
      return g.ph == r.get(Key::ph);
    return r.has(Key::skb) && g.skb && *g.skb == r.get(Key::skb);
  };
  // The innermost first: it is the one a nested destructor finishes first.
  const auto match = std::find_if(open.rbegin(), open.rend(), same);
  if (match == open.rend()) {
    unreadable(r);
    return;
  }
  const GiveBack g = *match;
  open.erase(std::next(match).base());
  // Records lost in between could be another use of the slot's: nothing is claimed.
  if (lost_between(g.ts, r.ts_ns)) {
    unreadable(r);
    return;
  }
  // With the store's own record (set_status.*) AVAILABLE is known already.
  if (auto slot = slots_.find(g.ph);
      slot != slots_.end() && slot->second.use.open && slot->second.use.tl.seen(Phase::available))
    return;
  phase(s, g.ph, Phase::available, r);
}

} // namespace harness::report
