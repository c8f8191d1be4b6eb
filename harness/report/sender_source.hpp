#pragma once

// The sender's per-frame records as the correlator consumes them: a ring slot is reused when
// the ring wraps, so the k-th kernel use of slot i is the k-th sender frame (in seq order) that
// used slot i. The interface lets the benchmark generate frames on the fly instead of holding
// millions of them.

#include "sender/send_record.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace harness::report {

class SenderSource {
public:
  virtual ~SenderSource() = default;
  virtual std::uint32_t rings() const = 0;
  // The next frame not yet taken that used `index` of ring `ring`, without taking it.
  virtual const sender::FrameRecord* peek(std::uint32_t ring, std::uint32_t index) = 0;
  virtual void pop(std::uint32_t ring, std::uint32_t index) = 0;
  // Every frame not taken, in seq order; they are consumed.
  virtual void drain(const std::function<void(const sender::FrameRecord&)>& fn) = 0;
};

// Over a report's records (any order; sorted by seq here).
class VectorSenderSource final : public SenderSource {
public:
  VectorSenderSource(std::vector<sender::FrameRecord> frames, std::uint32_t rings);
  std::uint32_t rings() const override { return rings_; }
  const sender::FrameRecord* peek(std::uint32_t ring, std::uint32_t index) override;
  void pop(std::uint32_t ring, std::uint32_t index) override;
  void drain(const std::function<void(const sender::FrameRecord&)>& fn) override;

private:
  std::deque<std::size_t>* queue(std::uint32_t ring, std::uint32_t index);
  std::vector<sender::FrameRecord> frames_;
  std::vector<bool> taken_;
  std::uint32_t rings_;
  std::uint32_t slots_ = 0;                     // highest index + 1
  std::vector<std::deque<std::size_t>> queues_; // [ring * slots_ + index] -> positions
};

} // namespace harness::report
