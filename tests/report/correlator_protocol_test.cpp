// The protocol check fed by the correlator (harness/report/correlator_protocol.cpp): whole traces
// in the DESIGN.md format, the anomaly each broken store gives (id, transition, place, anchor,
// evidence), the legal paths of a clean kernel, two CPUs' records out of store order, lost
// records, and the clean captures of tests/fixtures/traces.
#include "harness/report/frame_timeline.hpp"
#include "lost_records.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>
#include <set>
#include <sstream>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {

// Trace lines of one V2 ring on socket 0x1000, one record 1 us after the other; the sender's
// thread is tid 100, a destructor on another CPU runs as tid `tid` when given.
struct Trace {
  std::string text;
  std::uint64_t ts = 2'000'000'000;
  std::uint64_t lines = 0;

  std::uint64_t ev(const std::string& anchor, const std::string& kv, int tid = 100) {
    ts += 1000;
    text += "HX1 EV " + std::to_string(ts) + " 0 100 " + std::to_string(tid) + " " + anchor +
            " po=0x1000 " + kv + "\n";
    return ++lines;
  }
  static std::string hex(std::uint64_t v) {
    std::ostringstream o;
    o << "0x" << std::hex << v;
    return o.str();
  }
  std::uint64_t start() {
    return ev("snd.start", "head=0 frame_max=3 frame_size=4096 frames_per_block=1 version=1 "
                           "flags=64");
  }
  std::uint64_t read(std::uint64_t addr, int status = 1) {
    return ev("get_status.v2_return", "frame=" + hex(addr) + " status=" + std::to_string(status));
  }
  std::uint64_t store(std::uint64_t addr, std::uint32_t status, int tid = 100) {
    return ev("set_status.v2_break",
              "frame=" + hex(addr) + " status=" + std::to_string(status) + " version=1", tid);
  }
  std::uint64_t marker(std::uint64_t addr, int tid = 100) {
    return ev("destruct.set_available", "ph=" + hex(addr) + " ts=0", tid);
  }
  void destructed(std::uint64_t addr, int tid = 100) {
    marker(addr, tid);
    store(addr, 0, tid);
    ev("destruct.pending_dec", "ph=" + hex(addr), tid);
  }
  std::uint64_t len_sum(std::uint64_t addr, int head) {
    return ev("snd.len_sum", "ph=" + hex(addr) + " head=" + std::to_string(head) +
                                 " len_sum=0 tp_len=150 flags=64");
  }
  void frame(std::uint64_t addr, int head) {
    read(addr);
    store(addr, 2);
    destructed(addr);
    len_sum(addr, head + 1);
  }
  void ret(long err) { ev("snd.return", "err=" + std::to_string(err) + " sndbuf=1 wmem=1"); }
  // The tracer says it lost records between the previous record and the next one.
  void lost() {
    text +=
        "HX1 LOST " + std::to_string(ts + 100) + " " + std::to_string(ts + 900) + " 0 3 overrun\n";
  }
};

constexpr std::uint64_t kA = 0x20000, kB = 0x21000;

std::vector<std::string> protocol_kinds(const Report& r) {
  std::vector<std::string> k;
  for (const auto& a : r.anomalies)
    if (a.kind == "status_protocol" || a.kind == "status_backwards")
      k.push_back(a.kind);
  return k;
}

} // namespace

TEST(CorrelatorProtocol, CleanFramesBreakNothingAndEveryStoreIsChecked) {
  Trace t;
  t.start();
  t.frame(kA, 0);
  t.frame(kB, 1);
  t.ret(300);
  const Report r = analyze_text(t.text);
  EXPECT_TRUE(protocol_kinds(r).empty()) << r.anomalies[0].message;
  EXPECT_EQ(r.trace.protocol_checked, 6u); // 2 x (user request, SENDING, AVAILABLE)
  EXPECT_EQ(r.trace.protocol_unjudged, 0u);
}

// The zoo entry this check is for (README "Bug zoo"): tpacket_snd stores AVAILABLE where it
// should store SENDING, then transmits; the user may rewrite a frame its skb still holds.
TEST(CorrelatorProtocol, AvailableStoredBeforeTheXmitIsGivenBackWhileTheSkbLives) {
  Trace t;
  t.start();
  const auto request = t.read(kA);
  const auto store = t.store(kA, 0);
  const auto xmit = t.len_sum(kA, 1);
  t.destructed(kA);
  t.ret(150);
  const Report r = analyze_text(t.text);
  const Anomaly* a = find_anomaly(r, "status_protocol");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(protocol_kinds(r));
  EXPECT_EQ(a->message, "TX ring status protocol broken: SEND_REQUEST -> AVAILABLE by tpacket_snd "
                        "(set_status.v2_break): the slot was given back while its skb was still "
                        "alive (before its destructor); 1 frame: ring index 0");
  EXPECT_EQ(a->anchor, "set_status.v2_break");
  ASSERT_EQ(a->evidence.size(), 3u);
  EXPECT_EQ(a->evidence[0].trace_line, store);
  EXPECT_EQ(a->evidence[0].detail,
            "frame 0x20000: SEND_REQUEST -> AVAILABLE stored by tpacket_snd");
  EXPECT_EQ(a->evidence[1].trace_line, request);
  EXPECT_EQ(a->evidence[1].anchor, "get_status.v2_return");
  EXPECT_EQ(a->evidence[2].trace_line, xmit);
  EXPECT_EQ(a->evidence[2].anchor, "snd.len_sum");
  EXPECT_EQ(a->evidence[2].detail, "the frame's skb still alive here, after the store");
  EXPECT_EQ(protocol_kinds(r).size(), 1u); // the destructor's store after it is a side effect
}

TEST(CorrelatorProtocol, TheDestructorStoringAnythingButAvailableIsNamed) {
  Trace t;
  t.start();
  t.read(kA);
  const auto sending = t.store(kA, 2);
  const auto marker = t.marker(kA);
  const auto store = t.store(kA, 4);
  t.ret(150);
  const Report r = analyze_text(t.text);
  const Anomaly* a = find_anomaly(r, "status_protocol");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(protocol_kinds(r));
  EXPECT_EQ(a->message, "TX ring status protocol broken: SENDING -> WRONG_FORMAT by "
                        "tpacket_destruct_skb (set_status.v2_break): the TX ring protocol has no "
                        "such transition; 1 frame: ring index 0");
  ASSERT_EQ(a->evidence.size(), 3u);
  EXPECT_EQ(a->evidence[0].trace_line, store);
  EXPECT_EQ(a->evidence[1].trace_line, sending);
  EXPECT_EQ(a->evidence[2].trace_line, marker);
  EXPECT_EQ(a->evidence[2].detail, "the destructor's give-back that stored it");
}

// The kernel selftest psock_tpacket's shape (a false finding in CI): a TX ring's frame, then an
// RX ring on the same page (tpacket_rcv stores TP_STATUS_USER|CSUMNOTREADY outside any call),
// then a TX ring again whose first SEND_REQUEST is the user's: no finding.
TEST(CorrelatorProtocol, AnotherRingsStoreOnAFramesPageStartsItOver) {
  Trace t;
  t.start();
  t.frame(kA, 0);
  t.ret(150);
  t.store(kA, 9); // no call open on this thread, no destructor marker: tpacket_rcv
  t.start();
  t.frame(kA, 0);
  t.ret(150);
  const Report r = analyze_text(t.text);
  EXPECT_EQ(find_anomaly(r, "status_protocol"), nullptr)
      << ::testing::PrintToString(protocol_kinds(r));
  EXPECT_EQ(find_anomaly(r, "status_backwards"), nullptr);
}

TEST(CorrelatorProtocol, UserRewritingAFrameTheKernelHoldsIsStatusBackwards) {
  Trace t;
  t.start();
  t.read(kA);
  const auto sending = t.store(kA, 2);
  t.len_sum(kA, 1);
  t.ret(150);
  t.start();
  const auto read = t.read(kA); // SEND_REQUEST again with no AVAILABLE in between
  const Report r = analyze_text(t.text);
  const Anomaly* a = find_anomaly(r, "status_backwards");
  ASSERT_NE(a, nullptr) << ::testing::PrintToString(protocol_kinds(r));
  EXPECT_EQ(a->message, "status went backwards (SENDING -> SEND_REQUEST) by user space (no store "
                        "record) (get_status.v2_return): the TX ring protocol has no such "
                        "transition; 1 frame: ring index 0");
  ASSERT_EQ(a->evidence.size(), 2u);
  EXPECT_EQ(a->evidence[0].trace_line, read);
  EXPECT_EQ(a->evidence[0].detail, "frame 0x20000: tpacket_snd read SEND_REQUEST that no kernel "
                                   "store explains: SENDING -> SEND_REQUEST");
  EXPECT_EQ(a->evidence[1].trace_line, sending);
}

// PACKET_LOSS skips a bad frame (AVAILABLE, no skb); PACKET_LOSS unset marks it WRONG_FORMAT; a
// failed xmit whose skb was already destructed offers the frame again (out_status).
TEST(CorrelatorProtocol, TheKernelsOtherLegalPathsBreakNothing) {
  Trace t;
  t.start();
  t.read(kA);
  t.store(kA, 0); // skipped
  t.read(kB);
  t.store(kB, 2);
  t.ev("snd.after_xmit", "ph=" + Trace::hex(kB) + " err=-105");
  t.destructed(kB);
  t.read(kB, 0);  // __packet_get_status(po, ph) == TP_STATUS_AVAILABLE
  t.store(kB, 1); // out_status
  t.ret(-105);
  t.start();
  t.frame(kB, 1);
  t.read(kA); // the user fixed the skipped frame
  t.store(kA, 4);
  t.ret(-22);
  const Report r = analyze_text(t.text);
  EXPECT_TRUE(protocol_kinds(r).empty()) << find_anomaly(r, protocol_kinds(r)[0])->message;
  EXPECT_GE(r.trace.protocol_checked, 8u);
}

// The destructor on another CPU stored AVAILABLE before tpacket_snd read it and stored
// SEND_REQUEST (out_status), but its store's record is timestamped after them.
TEST(CorrelatorProtocol, AnotherCpusStoreRecordedLateBreaksNothing) {
  Trace t;
  t.start();
  t.read(kA);
  t.store(kA, 2);
  t.ev("snd.after_xmit", "ph=" + Trace::hex(kA) + " err=-105");
  t.marker(kA, 200);
  t.read(kA, 0);
  t.store(kA, 1);
  t.store(kA, 0, 200);
  t.ev("destruct.pending_dec", "ph=" + Trace::hex(kA), 200);
  t.ret(-105);
  const Report r = analyze_text(t.text);
  EXPECT_TRUE(protocol_kinds(r).empty()) << find_anomaly(r, protocol_kinds(r)[0])->message;
}

// The destructor's AVAILABLE store was lost: SENDING -> SEND_REQUEST by the records, yet no
// finding, and the report says the store was not checked.
TEST(CorrelatorProtocol, AStoreAfterLostRecordsIsNotJudged) {
  Trace t;
  t.start();
  t.read(kA);
  t.store(kA, 2);
  t.len_sum(kA, 1);
  t.ret(150);
  t.lost();
  t.start();
  t.read(kA);
  t.store(kA, 2);
  t.destructed(kA);
  t.len_sum(kA, 1);
  t.ret(150);
  const Report r = analyze_text(t.text);
  EXPECT_TRUE(protocol_kinds(r).empty()) << find_anomaly(r, protocol_kinds(r)[0])->message;
  EXPECT_GE(r.trace.protocol_unjudged + r.trace.protocol_checked, 3u);
  EXPECT_NE(r.verdict(), "anomalies");
}

TEST(CorrelatorProtocol, ALostDestructorMarkerIsNotJudged) {
  Trace t;
  t.start();
  t.read(kA);
  t.store(kA, 2);
  t.lost(); // destruct.set_available
  t.store(kA, 0);
  t.len_sum(kA, 1);
  t.ret(150);
  const Report r = analyze_text(t.text);
  EXPECT_TRUE(protocol_kinds(r).empty()) << find_anomaly(r, protocol_kinds(r)[0])->message;
  EXPECT_EQ(r.trace.protocol_unjudged, 1u);
  bool noted = false;
  for (const auto& n : r.notes)
    noted = noted || n.find("not checked against the TX ring protocol") != std::string::npos;
  EXPECT_TRUE(noted);
}

// Every clean capture (tests/fixtures/traces/README): no protocol finding.
TEST(CorrelatorProtocol, CleanCapturesGiveNoProtocolFinding) {
  for (const char* name :
       {"6.1.192-O0-v1-2frames-ring8-run", "6.1.192-O0-v2-2frames-ring8-run",
        "6.1.192-O0-v3-2frames-ring8-run", "6.1.192-O0-v2-20frames-ring8-run",
        "6.1.192-O0-v1-20frames-ring8-threads-run", "6.1.192-O2-v1-2frames-ring8-run",
        "6.1.192-O2-v2-2frames-ring8-run", "6.1.192-O2-v3-2frames-ring8-run",
        "6.1.192-O0-zoo-alloc-blocks-dontwait-run", "6.1.192-O0-zoo-pending-leak-run"}) {
    SCOPED_TRACE(name);
    const std::string base = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/" + name;
    const Report r = analyze_text(read_text(base + ".trace"));
    EXPECT_TRUE(protocol_kinds(r).empty()) << find_anomaly(r, protocol_kinds(r)[0])->message;
    EXPECT_EQ(r.trace.protocol_unjudged, 0u);
    if (std::string(name).find("-O0-") != std::string::npos) {
      EXPECT_GT(r.trace.protocol_checked, 0u); // the check ran: the stores were probed
    }
  }
  for (const char* name : {"6.1.192-O0-v1-2frames-status", "6.1.192-O0-v2-2frames-status",
                           "6.1.192-O0-v3-2frames-status", "6.1.192-O0-v2-20frames-ring8-status",
                           "6.1.192-O2-v2-2frames-status"}) {
    SCOPED_TRACE(name);
    const Report r = analyze_text(read_text(trace_fixture(name)));
    EXPECT_TRUE(protocol_kinds(r).empty()) << find_anomaly(r, protocol_kinds(r)[0])->message;
  }
}

namespace {

// Four frames through a ring of 4, two send() calls; `bad` breaks every frame's store the way a
// zoo variant would (0: a clean kernel; 1: AVAILABLE stored instead of SENDING, before the xmit;
// 2: the destructor stores WRONG_FORMAT; 3: a failed xmit offers a destructed frame again, legal;
// 4: the zoo's destructor-no-available, the destructor's store never made).
std::string four_frames(int bad) {
  Trace t;
  for (int call = 0; call < 2; ++call) {
    t.start();
    for (int i = 0; i < 2; ++i) {
      const std::uint64_t addr = kA + 0x1000ull * static_cast<unsigned>(call * 2 + i);
      t.read(addr);
      t.store(addr, bad == 1 ? 0 : 2);
      if (bad == 3)
        t.ev("snd.after_xmit", "ph=" + Trace::hex(addr) + " err=-105");
      t.marker(addr);
      if (bad != 4)
        t.store(addr, bad == 2 ? 4 : 0);
      t.ev("destruct.pending_dec", "ph=" + Trace::hex(addr));
      if (bad == 3) {
        t.read(addr, 0);
        t.store(addr, 1);
        t.read(addr);
        t.store(addr, 2);
        t.destructed(addr);
      }
      t.len_sum(addr, call * 2 + i + 1);
    }
    t.ret(300);
  }
  return t.text;
}

std::set<std::string> ids(const Report& r) {
  std::set<std::string> s;
  for (const auto& a : r.anomalies)
    s.insert(a.kind);
  return s;
}

} // namespace

// What the zoo's e2e test asks of an entry with records lost anywhere: never an anomaly the
// whole run does not have. Every span of 1, 2, 5 or 12 records removed at every place.
TEST(CorrelatorProtocol, LostRecordsNeverMakeAProtocolFinding) {
  for (int bad : {0, 1, 2, 3, 4}) {
    SCOPED_TRACE("variant " + std::to_string(bad));
    const std::string text = four_frames(bad);
    const std::set<std::string> whole = ids(analyze_text(text));
    EXPECT_EQ(whole.count("frame_not_restored"), bad == 4 ? 1u : 0u); // its own id, not ours
    EXPECT_EQ(whole.count("status_protocol"), bad == 1 || bad == 2 ? 1u : 0u)
        << ::testing::PrintToString(whole);
    const auto lines = harness::testing::split_trace(text);
    const auto events = harness::testing::event_lines(lines);
    int kept = 0;
    for (std::size_t span : {1, 2, 5, 12})
      for (std::size_t k = 0; k + span <= events.size(); ++k) {
        SCOPED_TRACE("records " + std::to_string(k) + " + " + std::to_string(span) + " lost");
        const Report r =
            analyze_text(harness::testing::drop_records(lines, events[k], events[k + span - 1]));
        for (const auto& id : ids(r)) {
          if (id == "status_protocol" || id == "status_backwards") {
            EXPECT_EQ(whole.count(id), 1u) << id << ": " << find_anomaly(r, id)->message;
          }
        }
        kept += r.anomalies.size() > 0 && find_anomaly(r, "status_protocol") != nullptr;
      }
    if (bad == 1 || bad == 2) {
      EXPECT_GT(kept, 0) << "a loss elsewhere spares the finding";
    }
  }
}
