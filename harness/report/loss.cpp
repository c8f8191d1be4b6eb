#include "harness/report/loss.hpp"

#include <algorithm>

namespace harness::report {

void LossMap::add(const LossWindow& w_in, std::optional<std::uint64_t> count, LostCause cause) {
  ++reports_;
  if (count) {
    records_ += *count;
    by_cause_[static_cast<std::size_t>(cause)] += *count;
  } else {
    uncounted_ = true;
  }
  if (count && *count == 0)
    return; // a report of nothing lost opens no window
  LossWindow w = w_in;
  if (w.to_ns < w.from_ns)
    std::swap(w.from_ns, w.to_ns);
  // Windows arrive in any order (a trace may hold them anywhere): kept as they come, sorted and
  // merged once they are read, or when too many wait.
  if (!windows_.empty() && w.from_ns < windows_.back().from_ns)
    sorted_ = false;
  windows_.push_back(w);
  if (windows_.size() > 2 * kMaxWindows)
    normalize();
}

// Sorted, overlapping windows merged, at most kMaxWindows (joined with their neighbours: a
// window only grows).
void LossMap::normalize() const {
  if (!sorted_)
    std::sort(windows_.begin(), windows_.end(),
              [](const LossWindow& a, const LossWindow& b) { return a.from_ns < b.from_ns; });
  sorted_ = true;
  std::vector<LossWindow> out;
  out.reserve(windows_.size());
  for (const auto& w : windows_)
    if (!out.empty() && w.from_ns <= out.back().to_ns)
      out.back().to_ns = std::max(out.back().to_ns, w.to_ns);
    else
      out.push_back(w);
  while (out.size() > kMaxWindows) {
    std::vector<LossWindow> half;
    half.reserve(out.size() / 2 + 1);
    for (std::size_t i = 0; i < out.size(); i += 2)
      half.push_back({out[i].from_ns, i + 1 < out.size() ? out[i + 1].to_ns : out[i].to_ns});
    out = std::move(half);
  }
  windows_ = std::move(out);
  merged_ = windows_.size();
}

const std::vector<LossWindow>& LossMap::windows() const {
  if (!sorted_ || merged_ != windows_.size())
    normalize();
  return windows_;
}

void LossMap::set_trace_bounds(std::uint64_t first_ns, std::uint64_t last_ns) {
  first_ns_ = first_ns;
  last_ns_ = last_ns;
}

bool LossMap::overlaps(std::uint64_t from_ns, std::uint64_t to_ns) const {
  const auto& ws = windows();
  if (ws.empty())
    return false;
  const std::uint64_t lo = from_ns > kMarginNs ? from_ns - kMarginNs : 0;
  const std::uint64_t hi = to_ns < UINT64_MAX - kMarginNs ? to_ns + kMarginNs : UINT64_MAX;
  auto it = std::lower_bound(ws.begin(), ws.end(), lo,
                             [](const LossWindow& x, std::uint64_t v) { return x.to_ns < v; });
  return it != ws.end() && it->from_ns <= hi;
}

bool LossMap::between(std::uint64_t first_ns, std::uint64_t second_ns) const {
  if (second_ns < first_ns)
    std::swap(first_ns, second_ns);
  const auto& ws = windows();
  // The first window that ends after `first`; it must start before `second`.
  auto it = std::upper_bound(ws.begin(), ws.end(), first_ns,
                             [](std::uint64_t v, const LossWindow& x) { return v < x.to_ns; });
  return it != ws.end() && it->from_ns < second_ns;
}

std::uint64_t LossMap::covered_ns() const {
  std::uint64_t total = 0;
  for (const auto& w : windows()) {
    const std::uint64_t a = std::max(w.from_ns, first_ns_);
    const std::uint64_t b = std::min(w.to_ns, last_ns_);
    if (b > a)
      total += b - a;
  }
  return total;
}

void SeqGaps::start(std::uint64_t ready_ns) {
  holes_.clear();
  next_ = 1;
  top_ns_ = ready_ns;
  overflow_ = false;
}

void SeqGaps::feed(std::uint64_t seq, std::uint64_t ts_ns) {
  if (seq == 0)
    return;
  if (seq == next_) {
    ++next_;
    top_ns_ = ts_ns;
    return;
  }
  if (seq > next_) {
    if (holes_.size() < kMaxHoles)
      holes_[next_] = Hole{seq - 1, top_ns_, ts_ns};
    else
      overflow_ = true;
    next_ = seq + 1;
    top_ns_ = ts_ns;
    return;
  }
  // Below the highest seen: it fills part of a hole, or it is a duplicate.
  auto it = holes_.upper_bound(seq);
  if (it == holes_.begin()) {
    ++duplicates_;
    return;
  }
  --it;
  const std::uint64_t first = it->first;
  const Hole h = it->second;
  if (seq > h.last) {
    ++duplicates_;
    return;
  }
  holes_.erase(it);
  if (seq > first)
    holes_[first] = Hole{seq - 1, h.before_ns, ts_ns};
  if (seq < h.last)
    holes_[seq + 1] = Hole{h.last, ts_ns, h.after_ns};
}

void SeqGaps::finish(std::optional<std::uint64_t> total, std::uint64_t end_ns, LossMap& out) {
  if (total && *total >= next_)
    holes_[next_] = Hole{*total, top_ns_, end_ns};
  for (const auto& [first, h] : holes_)
    out.add({h.before_ns, h.after_ns}, h.last - first + 1, LostCause::gap);
  if (overflow_)
    out.add({0, UINT64_MAX}, std::nullopt, LostCause::gap);
  holes_.clear();
  next_ = 1;
  overflow_ = false;
}

void LossScan::feed(const TraceRecord& r) {
  switch (r.kind) {
  case RecordKind::ready:
    if (ready_ns_ == 0)
      ready_ns_ = r.ts_ns;
    if (gaps_.numbered())
      gaps_.finish(std::nullopt, r.ts_ns, map_); // the previous run of a concatenated trace
    gaps_.start(r.ts_ns);
    break;
  case RecordKind::event:
    if (first_ns_ == 0 || r.ts_ns < first_ns_)
      first_ns_ = r.ts_ns;
    last_ns_ = std::max(last_ns_, r.ts_ns);
    if (r.seq != 0)
      gaps_.feed(r.seq, r.ts_ns);
    break;
  case RecordKind::lost:
    map_.add({r.ts_ns, r.to_ns}, r.count_known ? std::optional(r.count) : std::nullopt, r.cause);
    break;
  case RecordKind::end:
    end_ns_ = r.ts_ns;
    break;
  case RecordKind::hits:
    break;
  }
}

LossMap LossScan::finish(const ParseStats& ps) {
  // The script counts each record it prints (HITS); delivered ones are EV records.
  std::uint64_t total_hits = 0, undelivered = 0;
  bool hits_known = false;
  for (std::size_t id = 0; id < ps.hits.size(); ++id) {
    if (ps.hits[id] < 0)
      continue;
    hits_known = true;
    const auto hits = static_cast<std::uint64_t>(ps.hits[id]);
    const std::uint64_t events = id < ps.events_by_anchor.size() ? ps.events_by_anchor[id] : 0;
    total_hits += hits;
    if (hits > events)
      undelivered += hits - events;
  }
  if (gaps_.numbered())
    gaps_.finish(hits_known ? std::optional(total_hits) : std::nullopt, end_ns_, map_);
  // Records the tracer counted but did not deliver, already placed in time by a record of their
  // own (skipped probes and kprobe misses never reached a count).
  const std::uint64_t placed = map_.by_cause(LostCause::gap) + map_.by_cause(LostCause::transport) +
                               map_.by_cause(LostCause::overrun);
  if (undelivered > placed)
    map_.add({0, UINT64_MAX}, undelivered - placed, LostCause::uncounted);
  // The trace spans READY to END where they are there, else its first and last records.
  const std::uint64_t first = ready_ns_ != 0 && ready_ns_ < first_ns_ ? ready_ns_ : first_ns_;
  map_.set_trace_bounds(first, std::max(last_ns_, end_ns_ == UINT64_MAX ? 0 : end_ns_));
  return std::move(map_);
}

} // namespace harness::report
