#include "harness/report/sender_source.hpp"

#include <algorithm>

namespace harness::report {

VectorSenderSource::VectorSenderSource(std::vector<sender::FrameRecord> frames, std::uint32_t rings)
    : frames_(std::move(frames)), taken_(frames_.size(), false), rings_(rings ? rings : 1) {
  std::stable_sort(frames_.begin(), frames_.end(),
                   [](const auto& a, const auto& b) { return a.seq < b.seq; });
  for (const auto& f : frames_) {
    slots_ = std::max(slots_, f.index + 1);
    rings_ = std::max(rings_, f.ring + 1);
  }
  queues_.resize(static_cast<std::size_t>(rings_) * slots_);
  for (std::size_t i = 0; i < frames_.size(); ++i)
    queues_[static_cast<std::size_t>(frames_[i].ring) * slots_ + frames_[i].index].push_back(i);
}

std::deque<std::size_t>* VectorSenderSource::queue(std::uint32_t ring, std::uint32_t index) {
  if (ring >= rings_ || index >= slots_)
    return nullptr;
  return &queues_[static_cast<std::size_t>(ring) * slots_ + index];
}

const sender::FrameRecord* VectorSenderSource::peek(std::uint32_t ring, std::uint32_t index) {
  auto* q = queue(ring, index);
  return q && !q->empty() ? &frames_[q->front()] : nullptr;
}

void VectorSenderSource::pop(std::uint32_t ring, std::uint32_t index) {
  auto* q = queue(ring, index);
  if (q && !q->empty()) {
    taken_[q->front()] = true;
    q->pop_front();
  }
}

void VectorSenderSource::drain(const std::function<void(const sender::FrameRecord&)>& fn) {
  for (std::size_t i = 0; i < frames_.size(); ++i)
    if (!taken_[i]) {
      taken_[i] = true;
      fn(frames_[i]);
    }
  for (auto& q : queues_)
    q.clear();
}

} // namespace harness::report
