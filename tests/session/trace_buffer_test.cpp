// The tracer's buffer for a run and the sender's pace around it (issue 26, trace_buffer.hpp).
#include "base/signals.hpp"
#include "harness/session/trace_buffer.hpp"
#include "kprobe/kprobe_tracer.hpp"
#include "stap/stap_tracer.hpp"

#include <atomic>
#include <csignal>
#include <gtest/gtest.h>
#include <thread>

using namespace harness;
using namespace harness::session;
using namespace std::chrono_literals;

namespace {

// The buffers of the two tracers (stap/stap_tracer.cpp, kprobe/kprobe_tracer.cpp).
const tracer::BufferTraits kStap = stap::stap_tracer().buffer();
const tracer::BufferTraits kKprobe = kprobe::kprobe_tracer().buffer();

probes::ProbePlan plan_of(std::size_t anchors) {
  probes::ProbePlan p;
  p.anchors.resize(anchors);
  return p;
}

TEST(TraceBuffer, HoldsEveryRecordOfTheRunWithinAQuarterOfFreeMemory) {
  const auto plan = plan_of(20);
  // 30000 frames x 20 records x 96 bytes = 56250 KiB, well within 4 GiB / 4 / 2 CPUs.
  auto k = plan_trace_buffer(kKprobe, plan, 30000, std::nullopt, 4u << 20, 2);
  EXPECT_EQ(k.kb_per_cpu, 56250u);
  EXPECT_EQ(k.frames_held, 30000u);
  EXPECT_NE(k.why.find("30000 frames"), std::string::npos);
  // stap counts whole MiB and its lines are longer.
  auto s = plan_trace_buffer(kStap, plan, 30000, std::nullopt, 4u << 20, 2);
  EXPECT_EQ(s.kb_per_cpu, ((30000u * 20 * kStap.record_bytes + (1u << 20) - 1) >> 20) << 10);
  EXPECT_EQ(s.size, std::to_string(s.kb_per_cpu >> 10) + " MiB");
  EXPECT_GE(s.frames_held, 30000u);
  // Little free memory caps it, and says so.
  auto small = plan_trace_buffer(kKprobe, plan, 30000, std::nullopt, 64u << 10, 1);
  EXPECT_EQ(small.kb_per_cpu, 16u << 10);
  EXPECT_LT(small.frames_held, 30000u);
  EXPECT_NE(small.why.find("free memory"), std::string::npos);
  // A few frames still get the tracer's usual buffer.
  EXPECT_EQ(plan_trace_buffer(kKprobe, plan, 2, std::nullopt, 0, 1).kb_per_cpu, 4096u);
  EXPECT_EQ(plan_trace_buffer(kStap, plan, 2, std::nullopt, 0, 1).kb_per_cpu, 16u << 10);
  // A workload of unknown length.
  EXPECT_NE(plan_trace_buffer(kKprobe, plan, std::nullopt, std::nullopt, 0, 1).why.find("workload"),
            std::string::npos);
}

TEST(TraceBuffer, AskedSizeIsTakenAsGiven) {
  auto k = plan_trace_buffer(kKprobe, plan_of(10), 30000, 8, 4u << 20, 2);
  EXPECT_EQ(k.kb_per_cpu, 8u);
  EXPECT_EQ(k.frames_held, 8u * 1024 / (10 * kKprobe.record_bytes));
  EXPECT_EQ(k.why, "--trace-buffer");
  auto s = plan_trace_buffer(kStap, plan_of(10), 30000, 8, 4u << 20, 2);
  EXPECT_EQ(s.kb_per_cpu, 1024u) << "stap's transport takes whole MiB";
  EXPECT_EQ(s.size, "1 MiB");
  EXPECT_EQ(k.size, "8 KiB");
}

// The sender waits while the tracer is behind and delivering, and goes on once it caught up.
TEST(Pacer, WaitsUntilTheTracerCaughtUp) {
  Pacer p(100, 10s);
  const auto t = Pacer::Clock::now();
  p.note(0, t);
  p.wait(50); // within the budget: no wait
  EXPECT_EQ(p.waits(), 0u);
  std::atomic<bool> returned{false};
  std::thread sender([&] {
    p.wait(500);
    returned = true;
  });
  // The tracer delivers, still behind by more than the budget: the sender keeps waiting.
  p.note(300, Pacer::Clock::now());
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned);
  p.note(450, Pacer::Clock::now());
  sender.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(p.waits(), 1u);
}

// A tracer that delivers nothing while the sender waits has nothing left: frames that never
// complete must not hold the sender forever.
TEST(Pacer, AQuietTracerLetsTheSenderGoOn) {
  Pacer p(10, 100ms);
  p.note(0, Pacer::Clock::now());
  p.wait(1000);
  EXPECT_EQ(p.waits(), 1u);
}

TEST(Pacer, AnInterruptEndsTheWait) {
  Pacer p(10, 10min);
  p.note(0, Pacer::Clock::now());
  std::thread sender([&] { p.wait(1000); });
  install_interrupt_handlers();
  ::raise(SIGTERM);
  sender.join();
  clear_interrupt();
  EXPECT_EQ(p.waits(), 1u);
}

} // namespace
