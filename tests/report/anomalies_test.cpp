// Each anomaly kind of docs/report-schema.md ("anomalies[]"), triggered by trace text in the
// DESIGN.md format plus the sender's records, and checked for its whole message, count and the
// frames it names. (blocked_dontwait is left to correlator_test.cpp: its detector is being
// redesigned.)
#include "report_fixtures.hpp"

#include <gtest/gtest.h>
#include <sstream>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {

constexpr std::uint64_t kPo = 0x1000;

// Trace lines of one V2 ring on socket kPo, one record 1 us after the other.
struct Trace {
  std::string text;
  std::uint64_t ts = 2'000'000'000;

  void ev(const std::string& anchor, const std::string& kv) {
    ts += 1000;
    text += "HX1 EV " + std::to_string(ts) + " 0 100 100 " + anchor + " po=0x1000 " + kv + "\n";
  }
  static std::string hex(std::uint64_t v) {
    std::ostringstream o;
    o << "0x" << std::hex << v;
    return o.str();
  }
  void start(int head, int frames) {
    ev("snd.start", "head=" + std::to_string(head) + " frame_max=" + std::to_string(frames - 1) +
                        " frame_size=4096 frames_per_block=1 version=1 flags=0");
  }
  // tpacket_snd finds the frame at `addr` (slot `head`) in SEND_REQUEST.
  void taken(std::uint64_t addr, int head) {
    ev("get_status.v2_return", "frame=" + hex(addr) + " status=1");
    ev("snd.ph_check", "ph=" + hex(addr) + " head=" + std::to_string(head));
  }
  void set_status(std::uint64_t addr, std::uint32_t status) {
    ev("set_status.v2_break",
       "frame=" + hex(addr) + " status=" + std::to_string(status) + " version=1");
  }
  void destructed(std::uint64_t addr) {
    ev("destruct.set_available", "ph=" + hex(addr) + " ts=0");
    set_status(addr, 0);
    ev("destruct.pending_dec", "ph=" + hex(addr));
  }
  // A whole frame, SEND_REQUEST -> SENDING -> AVAILABLE; `sending` false leaves out the SENDING
  // store's record (as if that record was lost).
  void frame(std::uint64_t addr, int head, int frames, bool sending = true) {
    taken(addr, head);
    if (sending)
      set_status(addr, 2);
    destructed(addr);
    ev("snd.len_sum", "ph=" + hex(addr) + " head=" + std::to_string((head + 1) % frames) +
                          " len_sum=0 tp_len=150 flags=0");
  }
  void ret(long err) { ev("snd.return", "err=" + std::to_string(err) + " sndbuf=1 wmem=1"); }
};

std::uint64_t slot(int i) {
  return 0x20000ull + 0x1000ull * static_cast<unsigned>(i);
}

sender::SenderRecord sender_of(std::vector<sender::FrameRecord> frames, std::uint32_t ring) {
  sender::SenderRecord s;
  s.pid = 100;
  s.ring.frames = ring;
  s.totals.requested = s.totals.queued = s.totals.sent = frames.size();
  s.frames = std::move(frames);
  return s;
}

std::vector<sender::FrameRecord> frames_0_to(int n, std::int64_t t0) {
  std::vector<sender::FrameRecord> v;
  for (int i = 0; i < n; ++i)
    v.push_back(frame(static_cast<std::uint64_t>(i), static_cast<std::uint32_t>(i), t0 + i));
  return v;
}

std::vector<std::string> kinds(const Report& r) {
  std::vector<std::string> v;
  for (const auto& a : r.anomalies)
    v.push_back(a.kind);
  return v;
}

} // namespace

// The control: the same trace shapes, nothing wrong, no anomaly.
TEST(Anomalies, CleanRunHasNone) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.frame(slot(1), 1, 4);
  t.ret(300);
  const Report r = analyze_text(t.text, sender_of(frames_0_to(2, t0), 4));
  EXPECT_TRUE(r.anomalies.empty()) << r.anomalies.front().message;
  EXPECT_EQ(r.exit_code(), 0);
}

TEST(Anomalies, KernelUseOfASlotTheSenderDidNotFillIsUnmatched) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.frame(slot(1), 1, 4); // the sender queued only seq 0, in slot 0
  t.ret(300);
  const Report r = analyze_text(t.text, sender_of(frames_0_to(1, t0), 4));
  const Anomaly* a = find_anomaly(r, "frame_unmatched");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(a->message, "1 kernel frame use the sender's records do not account for: ring index 1");
  EXPECT_EQ(a->count, 1u);
  EXPECT_TRUE(a->seqs.empty());
  EXPECT_EQ(a->indices, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(r.summary.unmatched, 1u);
  EXPECT_EQ(r.exit_code(), 1);
}

TEST(Anomalies, CompletedFrameWithoutAPhaseOthersShowIsMissingPhase) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.frame(slot(1), 1, 4, /*sending=*/false);
  t.frame(slot(2), 2, 4);
  t.ret(450);
  const Report r = analyze_text(t.text, sender_of(frames_0_to(3, t0), 4));
  const Anomaly* a = find_anomaly(r, "missing_phase");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(a->message, "1 frame without the SENDING phase although other frames show it: seq 1");
  EXPECT_EQ(a->count, 1u);
  EXPECT_EQ(a->seqs, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(r.frames[1].outcome, Outcome::completed);
  // No LOST record: by the records the destructor gave back a frame never marked SENDING, which
  // the protocol check names too (status_protocol_test.cpp).
  EXPECT_EQ(kinds(r), (std::vector<std::string>{"missing_phase", "status_protocol"}));
}

TEST(Anomalies, SenderWhoseRingStalledIsReportedUnlessInterrupted) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.ret(150);
  auto s = sender_of(frames_0_to(1, t0), 4);
  s.stalled = true;
  const Report r = analyze_text(t.text, s);
  const Anomaly* a = find_anomaly(r, "sender_stalled");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(a->message, "the sender's ring made no progress within its completion timeout");
  EXPECT_EQ(r.exit_code(), 1);
  s.interrupted = true; // stopped by Ctrl-C: not the kernel's fault
  EXPECT_EQ(find_anomaly(analyze_text(t.text, s), "sender_stalled"), nullptr);
}

TEST(Anomalies, TakenButNeverGivenBackIsStuckAndNeverTakenIsNotSeen) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.taken(slot(1), 1);
  t.set_status(slot(1), 2); // SENDING, and nothing after
  t.ret(300);
  auto s = sender_of(frames_0_to(4, t0), 4);
  s.frames[1].final_status = sender::SlotStatus::sending;
  s.frames[2].final_status = sender::SlotStatus::send_request;
  // Seq 3: the sender saw it come back although no record of it arrived.
  const Report r = analyze_text(t.text, s);
  const Anomaly* stuck = find_anomaly(r, "frame_stuck");
  ASSERT_NE(stuck, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(stuck->message, "1 frame the kernel took but never gave back (no AVAILABLE): seq 1");
  EXPECT_EQ(stuck->seqs, (std::vector<std::uint64_t>{1}));
  const Anomaly* not_seen = find_anomaly(r, "frame_not_seen");
  ASSERT_NE(not_seen, nullptr);
  EXPECT_EQ(not_seen->message, "2 frames the kernel never took: seq 2, 3 (the sender saw 1 of "
                               "them come back: probe records lost?)");
  EXPECT_EQ(not_seen->count, 2u);
  EXPECT_EQ(not_seen->seqs, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(r.summary.stuck, 1u);
  EXPECT_EQ(r.summary.not_seen, 2u);
}

TEST(Anomalies, StatusBackToSendRequestIsNamedWithItsFrame) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.taken(slot(1), 1);
  t.set_status(slot(1), 2);
  t.ev("snd.after_xmit", "ph=" + Trace::hex(slot(1)) + " err=-105");
  t.set_status(slot(1), 1); // out_status: back to SEND_REQUEST
  t.ret(-105);
  t.start(1, 4);
  t.frame(slot(1), 1, 4); // the retry goes through
  t.ret(150);
  const Report r = analyze_text(t.text, sender_of(frames_0_to(2, t0), 4));
  const Anomaly* a = find_anomaly(r, "status_backwards");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(a->message, "status went backwards (SENDING -> SEND_REQUEST) by tpacket_snd "
                        "(set_status.v2_break): the TX ring protocol has no such transition; 1 "
                        "frame: seq 1");
  ASSERT_EQ(a->evidence.size(), 3u);
  EXPECT_EQ(a->evidence[0].anchor, "set_status.v2_break");
  EXPECT_EQ(a->evidence[0].detail, "frame 0x21000: SENDING -> SEND_REQUEST stored by tpacket_snd");
  EXPECT_EQ(a->evidence[1].detail, "the status was SENDING here");
  EXPECT_EQ(a->evidence[2].anchor, "snd.start");
  EXPECT_EQ(a->seqs, (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(r.frames[1].status_backwards);
  EXPECT_FALSE(r.frames[0].status_backwards);
  EXPECT_EQ(r.frames[1].outcome, Outcome::completed);
}

TEST(Anomalies, WrongFormatAndDiscardedNameTheirFrames) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 4);
  t.frame(slot(0), 0, 4);
  t.taken(slot(1), 1);
  t.set_status(slot(1), 0); // PACKET_LOSS: skipped, straight back to AVAILABLE
  t.taken(slot(2), 2);
  t.set_status(slot(2), 4 | 0x20000000); // WRONG_FORMAT, with a timestamp flag
  t.ret(-22);
  const Report r = analyze_text(t.text, sender_of(frames_0_to(3, t0), 4));
  const Anomaly* d = find_anomaly(r, "frame_discarded");
  ASSERT_NE(d, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(d->message, "1 frame skipped as malformed (PACKET_LOSS), never transmitted: seq 1");
  EXPECT_EQ(d->seqs, (std::vector<std::uint64_t>{1}));
  const Anomaly* w = find_anomaly(r, "frame_wrong_format");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->message, "1 frame marked TP_STATUS_WRONG_FORMAT by the kernel: seq 2");
  EXPECT_EQ(w->seqs, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(r.frames[0].outcome, Outcome::completed);
  EXPECT_EQ(r.summary.discarded, 1u);
  EXPECT_EQ(r.summary.wrong_format, 1u);
}

// A list longer than the samples says how many more there are.
TEST(Anomalies, ManyStuckFramesListSamplesAndTheRest) {
  Trace t;
  const auto t0 = static_cast<std::int64_t>(t.ts);
  t.start(0, 64);
  t.frame(slot(0), 0, 64); // one frame given back: AVAILABLE is observable on this kernel
  for (int i = 1; i <= 40; ++i) {
    t.taken(slot(i), i);
    t.set_status(slot(i), 2);
  }
  t.ret(41 * 150);
  auto s = sender_of(frames_0_to(41, t0), 64);
  for (auto& f : s.frames)
    f.final_status = sender::SlotStatus::sending;
  s.frames[0].final_status = sender::SlotStatus::available;
  const Report r = analyze_text(t.text, s);
  const Anomaly* a = find_anomaly(r, "frame_stuck");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(kinds(r));
  EXPECT_EQ(a->count, 40u);
  ASSERT_FALSE(a->seqs.empty());
  ASSERT_LT(a->seqs.size(), 40u);
  for (std::size_t i = 0; i < a->seqs.size(); ++i)
    EXPECT_EQ(a->seqs[i], i + 1);
  EXPECT_NE(a->message.find("40 frames the kernel took but never gave back (no AVAILABLE): seq 1, "
                            "2, 3"),
            std::string::npos)
      << a->message;
  EXPECT_NE(a->message.find("(and " + std::to_string(40 - a->seqs.size()) + " more)"),
            std::string::npos)
      << a->message;
}
