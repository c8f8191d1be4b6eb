#include "harness/report/correlator.hpp"
#include "probes/map_store.hpp"
#include "probes/plan_maker.hpp"
#include "report_fixtures.hpp"
#include "text_lines.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <sstream>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {

constexpr const char* kV2 = "6.1.192-O0-v2-2frames-status";
constexpr const char* kWrap = "6.1.192-O0-v2-20frames-ring8-status";

// Synthetic trace lines in the DESIGN.md format.
struct Gen {
  std::string text;
  std::uint64_t ts = 1'000'000'000;
  void ev(const std::string& anchor, const std::string& kv, std::uint32_t cpu = 0,
          std::uint32_t pid = 100) {
    ts += 1000;
    text += "HX1 EV " + std::to_string(ts) + " " + std::to_string(cpu) + " " + std::to_string(pid) +
            " " + std::to_string(pid) + " " + anchor + " " + kv + "\n";
  }
  static std::string hex(std::uint64_t v) {
    std::ostringstream o;
    o << "0x" << std::hex << v;
    return o.str();
  }
  // One frame through a V2 ring on `po`, as an -O0 kernel shows it.
  void frame(std::uint64_t po, std::uint64_t addr, int head, int frames, bool ph_check = true) {
    const std::string p = "po=" + hex(po);
    ev("get_status.v2_return", p + " frame=" + hex(addr) + " status=1");
    if (ph_check)
      ev("snd.ph_check", p + " ph=" + hex(addr) + " head=" + std::to_string(head));
    ev("set_status.v2_break", p + " frame=" + hex(addr) + " status=2 version=1");
    ev("destruct.set_available", p + " ph=" + hex(addr) + " ts=0", 1, 7);
    ev("set_status.v2_break", p + " frame=" + hex(addr) + " status=536870912 version=1", 1, 7);
    ev("destruct.pending_dec", p + " ph=" + hex(addr), 1, 7);
    if (ph_check)
      ev("snd.len_sum", p + " ph=" + hex(addr) + " head=" + std::to_string((head + 1) % frames) +
                            " len_sum=0 tp_len=150 flags=0");
  }
  void start(std::uint64_t po, int head, int frames, std::uint64_t flags = 0) {
    ev("snd.start",
       "po=" + hex(po) + " head=" + std::to_string(head) +
           " frame_max=" + std::to_string(frames - 1) +
           " frame_size=4096 frames_per_block=1 version=1 flags=" + std::to_string(flags));
  }
  void ret(std::uint64_t po, long err) {
    ev("snd.return", "po=" + hex(po) + " err=" + std::to_string(err) + " sndbuf=1 wmem=1");
  }
};

sender::SenderRecord sender_of(std::vector<sender::FrameRecord> frames, std::uint32_t ring,
                               int pid = 100) {
  sender::SenderRecord s;
  s.pid = pid;
  s.ring.frames = ring;
  s.totals.requested = s.totals.queued = s.totals.sent = frames.size();
  s.frames = std::move(frames);
  return s;
}

using harness::testing::lines_of;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v)
    s += l + "\n";
  return s;
}

// The timestamps of the V2 status stores setting `status` (masked of the timestamp flags), in
// the trace's time order, read straight from the text: in a run that sends in ring order, the
// i-th SENDING and the i-th AVAILABLE store belong to frame i. An expectation independent of the
// correlator.
std::vector<std::uint64_t> status_store_times(const std::string& text, std::uint32_t status) {
  std::vector<std::uint64_t> v;
  for (const auto& l : lines_of(text)) {
    if (l.rfind("HX1 EV ", 0) != 0 || l.find(" set_status.v2_break ") == std::string::npos)
      continue;
    const auto at = l.find(" status=");
    const std::uint32_t st = static_cast<std::uint32_t>(std::stoul(l.substr(at + 8)));
    if ((st & 0x1fffffffu) == status)
      v.push_back(std::stoull(l.substr(7, l.find(' ', 7) - 7)));
  }
  std::sort(v.begin(), v.end());
  return v;
}

// Every frame of the 20-frame capture has the SENDING and AVAILABLE times of its own stores.
void expect_wrap_phases_from_the_text(const Report& r, const std::string& text) {
  const auto sending = status_store_times(text, 2);
  const auto available = status_store_times(text, 0);
  ASSERT_EQ(sending.size(), 20u);
  ASSERT_EQ(available.size(), 20u);
  ASSERT_EQ(r.frames.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(r.frames[i].sender.seq, i);
    EXPECT_EQ(r.frames[i].at(Phase::sending), sending[i]) << "frame " << i;
    EXPECT_EQ(r.frames[i].at(Phase::available), available[i]) << "frame " << i;
    EXPECT_LT(r.frames[i].at(Phase::request_seen), sending[i]) << "frame " << i;
  }
}

// Phase times of every frame, for comparing two analyses.
std::vector<std::array<std::uint64_t, kPhaseCount>> phases_of(const Report& r) {
  std::vector<std::array<std::uint64_t, kPhaseCount>> v;
  for (const auto& f : r.frames)
    v.push_back(f.t);
  return v;
}

probes::ProbePlan plan_for_61() {
  auto maps = probes::load_shipped_maps();
  EXPECT_TRUE(maps);
  auto sel = probes::select_map(*maps, "6.1", "6.1.192");
  EXPECT_TRUE(sel);
  auto plan = probes::make_plan(sel->entry.map, probes::ProbeSet::status);
  EXPECT_TRUE(plan) << (plan ? "" : format_error(plan.error()));
  return *plan;
}

// pending is a count: a negative one (a signed fetch prints -1, read as 2^64-1) or one from 2^63
// on is not the maximum, which a report.json must be able to hold (found by fuzz_trace).
TEST(Correlator, MaxPendingIgnoresNegativeAndHugeCounts) {
  Analysis a({}, AnalyzeInputs{});
  feed_trace_text("HX1 EV 10 0 5 5 snd.len_sum po=0x1 pending=3\n"
                  "HX1 EV 11 0 5 5 snd.len_sum po=0x1 pending=-1\n"
                  "HX1 EV 12 0 5 5 snd.len_sum po=0x1 pending=9223372036854775808\n",
                  a);
  const Report r = a.finish();
  ASSERT_TRUE(r.summary.max_pending);
  EXPECT_EQ(*r.summary.max_pending, 3u);
}

} // namespace

TEST(Correlator, CapturedV2TwoFramesEveryPhaseAtTheRightIndex) {
  const Report r = analyze_text(read_text(trace_fixture(kV2)), sender_records(kV2));
  ASSERT_EQ(r.frames.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& f = r.frames[i];
    EXPECT_TRUE(f.has_sender);
    EXPECT_TRUE(f.has_kernel);
    EXPECT_EQ(f.sender.seq, i);
    EXPECT_EQ(f.index, static_cast<std::int64_t>(i));
    EXPECT_EQ(f.mapped_by, MapSource::ph_check);
    EXPECT_EQ(f.outcome, Outcome::completed);
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      EXPECT_NE(f.t[p], 0u) << "frame " << i << " phase " << phase_name(static_cast<Phase>(p));
  }
  // Frame 0 as the capture shows it (the destructor ran inside the xmit, before len_sum).
  const auto& f0 = r.frames[0];
  EXPECT_EQ(f0.addr, 0xffff888002d1f000ull);
  EXPECT_EQ(f0.at(Phase::request_seen), 1795502968045452312ull);
  EXPECT_EQ(f0.at(Phase::sending), 1795502968046554843ull);
  EXPECT_EQ(f0.at(Phase::destruct), 1795502968046944383ull);
  EXPECT_EQ(f0.at(Phase::available), 1795502968047040686ull);
  EXPECT_EQ(f0.at(Phase::xmit), 1795502968047744884ull);
  EXPECT_EQ(r.summary.completed, 2u);
  EXPECT_EQ(r.summary.snd_calls, 1u);
  EXPECT_EQ(r.summary.bytes_returned, 300u);
  EXPECT_TRUE(r.anomalies.empty()) << r.anomalies.front().message;
  EXPECT_EQ(r.exit_code(), 0);
}

TEST(Correlator, CapturedV1AndV3) {
  for (const char* name : {"6.1.192-O0-v1-2frames-status", "6.1.192-O0-v3-2frames-status"}) {
    const Report r = analyze_text(read_text(trace_fixture(name)), sender_records(name));
    ASSERT_EQ(r.frames.size(), 2u) << name;
    EXPECT_EQ(r.summary.completed, 2u) << name;
    for (const auto& f : r.frames) {
      EXPECT_EQ(f.index, static_cast<std::int64_t>(f.sender.seq)) << name;
      EXPECT_TRUE(f.seen(Phase::sending) && f.seen(Phase::available)) << name;
    }
    EXPECT_EQ(r.exit_code(), 0) << name;
  }
}

TEST(Correlator, CapturedRingThatWrappedJoinsTheKthUseWithTheKthFrame) {
  const Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  ASSERT_EQ(r.frames.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    const auto& f = r.frames[i];
    EXPECT_EQ(f.sender.seq, i);
    EXPECT_EQ(f.index, static_cast<std::int64_t>(i % 8));
    EXPECT_EQ(f.outcome, Outcome::completed);
    // The kernel saw each frame after the sender requested it: the right use was joined.
    EXPECT_GE(f.at(Phase::request_seen), static_cast<std::uint64_t>(f.sender.t_request_ns));
  }
  EXPECT_EQ(r.frames[0].addr, r.frames[8].addr);
  EXPECT_EQ(r.frames[8].addr, r.frames[16].addr);
  EXPECT_EQ(r.summary.snd_calls, 3u);
  EXPECT_EQ(r.exit_code(), 0);
}

TEST(Correlator, CapturedDefaultOptimisationMarksMissingPhasesWithoutFailing) {
  // af_packet.c at -O2: set/get status are inlined without line records, po/head optimised out.
  for (const char* name : {"6.1.192-O2-v1-2frames-status", "6.1.192-O2-v2-2frames-status",
                           "6.1.192-O2-v3-2frames-status"}) {
    const Report r = analyze_text(read_text(trace_fixture(name)));
    ASSERT_EQ(r.frames.size(), 2u) << name;
    for (std::size_t i = 0; i < 2; ++i) {
      const auto& f = r.frames[i];
      EXPECT_EQ(f.index, static_cast<std::int64_t>(i)) << name;
      EXPECT_EQ(f.mapped_by, MapSource::ring_order) << name;
      EXPECT_TRUE(f.seen(Phase::request_seen)) << name;
      EXPECT_TRUE(f.seen(Phase::destruct)) << name;
      EXPECT_FALSE(f.seen(Phase::sending)) << name;
      EXPECT_FALSE(f.seen(Phase::available)) << name;
      // len_sum's ph is `?`: it is the frame its call found last (the thread's ph_check).
      EXPECT_TRUE(f.seen(Phase::xmit)) << name;
      EXPECT_EQ(f.outcome, Outcome::completed) << name;
    }
    EXPECT_FALSE(r.phases[static_cast<int>(Phase::sending)].observed);
    EXPECT_EQ(r.trace.by_call_frame, 2u) << name;
  }
}

TEST(Correlator, DefaultOptimisationWithItsPlanReportsEverySilentProbe) {
  const Report r = analyze_text(read_text(trace_fixture("6.1.192-O2-v2-2frames-status")), {},
                                plan_for_61(), AnalyzeOptions{.tpacket = 2});
  std::vector<std::string> silent;
  for (const auto& a : r.anomalies)
    if (a.kind == "probe_never_fired")
      silent.push_back(a.anchor);
  EXPECT_NE(std::find(silent.begin(), silent.end(), "set_status.v2_break"), silent.end());
  EXPECT_NE(std::find(silent.begin(), silent.end(), "get_status.v2_return"), silent.end());
  EXPECT_EQ(std::find(silent.begin(), silent.end(), "set_status.v1_break"), silent.end())
      << "a V1 probe is not expected to fire on a V2 ring";
  EXPECT_EQ(std::find(silent.begin(), silent.end(), "snd.wait"), silent.end())
      << "a conditional probe is not expected to fire";
  const Anomaly* a = find_anomaly(r, "probe_never_fired");
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->message.find("possible line drift at anchor"), std::string::npos);
  EXPECT_NE(a->message.find("(line "), std::string::npos);
  EXPECT_NE(a->message.find("run `harness drift`"), std::string::npos);
  EXPECT_EQ(r.exit_code(), 1);
}

TEST(Correlator, InterleavedCpusGiveTheSameFramesAsInOrderOutput) {
  const std::string text = read_text(trace_fixture(kWrap));
  const Report ordered = analyze_text(text, sender_records(kWrap));
  // Emulate per-CPU buffers: odd EV lines claim CPU 1 and reach the output in blocks of 6,
  // each block after the CPU 0 lines that followed it in time.
  auto lines = lines_of(text);
  std::vector<std::string> out, held;
  for (auto& l : lines) {
    if (l.rfind("HX1 EV ", 0) != 0) {
      out.insert(out.end(), held.begin(), held.end());
      held.clear();
      out.push_back(l);
      continue;
    }
    if (held.size() < 6 && (out.size() + held.size()) % 2 == 1) {
      auto sp = l.find(' ', 7); // after the timestamp
      l.replace(sp + 1, 1, "1");
      held.push_back(l);
    } else {
      out.push_back(l);
      if (held.size() == 6) {
        out.insert(out.end(), held.begin(), held.end());
        held.clear();
      }
    }
  }
  out.insert(out.end(), held.begin(), held.end());
  const Report mixed = analyze_text(join(out), sender_records(kWrap));
  EXPECT_GT(mixed.trace.reordered, 0u);
  EXPECT_EQ(mixed.trace.late, 0u);
  expect_wrap_phases_from_the_text(ordered, text);
  expect_wrap_phases_from_the_text(mixed, text);
  EXPECT_EQ(phases_of(mixed), phases_of(ordered));
  EXPECT_EQ(mixed.exit_code(), 0);
}

TEST(Correlator, ShuffledLinesWithinTheWindowGiveTheSameFrames) {
  const std::string text = read_text(trace_fixture(kWrap));
  const Report ordered = analyze_text(text, sender_records(kWrap));
  auto lines = lines_of(text);
  std::mt19937 rng(42);
  for (std::size_t i = 1; i + 5 < lines.size(); i += 5)
    if (lines[i].rfind("HX1 EV", 0) == 0 && lines[i + 4].rfind("HX1 EV", 0) == 0)
      std::shuffle(lines.begin() + static_cast<long>(i), lines.begin() + static_cast<long>(i + 5),
                   rng);
  const Report shuffled = analyze_text(join(lines), sender_records(kWrap));
  EXPECT_GT(shuffled.trace.reordered, 0u);
  expect_wrap_phases_from_the_text(shuffled, text);
  EXPECT_EQ(phases_of(shuffled), phases_of(ordered));
}

TEST(Correlator, TruncatedOutputKeepsWhatArrived) {
  const std::string text = read_text(trace_fixture(kWrap));
  // Cut in the middle of a line about two thirds in: no END, no HITS, a partial last line.
  std::size_t cut = text.size() * 2 / 3;
  while (text[cut] != ' ')
    ++cut;
  const Report r = analyze_text(text.substr(0, cut), sender_records(kWrap));
  EXPECT_EQ(r.trace.truncated_tail, 1u);
  EXPECT_FALSE(r.trace.end);
  EXPECT_EQ(r.frames.size(), 20u);
  std::size_t completed = 0, unfinished = 0;
  for (const auto& f : r.frames) {
    if (f.outcome == Outcome::completed)
      ++completed;
    else
      ++unfinished;
  }
  EXPECT_GE(completed, 10u);
  EXPECT_GE(unfinished, 1u);
  for (std::size_t i = 0; i < completed; ++i)
    EXPECT_EQ(r.frames[i].outcome, Outcome::completed) << "frames complete in ring order";
  EXPECT_NE(std::find_if(r.notes.begin(), r.notes.end(),
                         [](const auto& n) { return n.find("no END record") != n.npos; }),
            r.notes.end());
  EXPECT_EQ(r.exit_code(), 1);
}

TEST(Correlator, RingWrapWithoutPhCheckInfersIndicesFromRingOrder) {
  Gen g;
  const std::uint64_t po = 0xffff888000001000;
  std::vector<sender::FrameRecord> frames;
  for (int call = 0; call < 3; ++call) {
    for (int i = 0; i < 4; ++i)
      frames.push_back(frame(static_cast<std::uint64_t>(call * 4 + i),
                             static_cast<std::uint32_t>(i), static_cast<std::int64_t>(g.ts + 10)));
    g.start(po, 0, 4);
    for (int i = 0; i < 4; ++i)
      g.frame(po, 0xffff888000100000ull + 0x10000ull * static_cast<unsigned>(3 - i), i, 4, false);
    g.ret(po, 600);
  }
  const Report r = analyze_text(g.text, sender_of(frames, 4));
  ASSERT_EQ(r.frames.size(), 12u);
  for (std::size_t k = 0; k < 12; ++k) {
    EXPECT_EQ(r.frames[k].sender.seq, k);
    EXPECT_EQ(r.frames[k].index, static_cast<std::int64_t>(k % 4));
    EXPECT_EQ(r.frames[k].mapped_by, MapSource::ring_order);
    EXPECT_EQ(r.frames[k].addr, 0xffff888000100000ull + 0x10000ull * (3 - k % 4));
  }
  EXPECT_EQ(r.exit_code(), 0) << (r.anomalies.empty() ? "" : r.anomalies[0].message);
}

// Only SEND_REQUEST sightings carry the frame (an -O2 kernel: the completions' ph is '?'). A slot
// found again right after itself is the same frame tried again; found again after other slots,
// it is the next frame in that slot (the kernel moves on only past frames it took).
TEST(Correlator, ASlotFoundAgainAfterOthersHoldsTheNextFrame) {
  Gen g;
  const std::uint64_t po = 0x1000, a = 0x20000, b = 0x21000;
  const std::string p = "po=0x1000";
  std::vector<sender::FrameRecord> filled; // the sender fills a slot right before it is found
  auto seen = [&](std::uint64_t addr) {
    filled.push_back(frame(filled.size(), addr == a ? 0 : 1, static_cast<std::int64_t>(g.ts)));
    g.ev("snd.ph_check", p + " ph=" + Gen::hex(addr) + " head=?");
    g.ev("destruct.set_available", "po=? ph=? ts=0", 1, 7);
  };
  g.start(po, 0, 2);
  seen(a);
  g.ev("snd.ph_check", p + " ph=0x20000 head=?"); // the same frame again: its send failed
  seen(b);
  seen(a);
  seen(b);
  g.ret(po, 450);
  const Report r = analyze_text(g.text, sender_of(filled, 2));
  ASSERT_EQ(r.frames.size(), 4u);
  EXPECT_EQ(r.frames[0].request_seen_count, 2u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.frames[i].index, static_cast<std::int64_t>(i % 2)) << i;
    EXPECT_EQ(r.frames[i].outcome, Outcome::completed) << i;
    EXPECT_FALSE(r.frames[i].status_backwards) << i;
  }
  EXPECT_EQ(r.exit_code(), 0) << (r.anomalies.empty() ? "" : r.anomalies[0].message);
}

TEST(Correlator, StatusThatWentBackwardsIsAnAnomalyAndTheRetryCompletes) {
  Gen g;
  const std::uint64_t po = 0x1000, a = 0x20000;
  const std::string p = "po=0x1000";
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(po, 0, 2);
  g.ev("get_status.v2_return", p + " frame=0x20000 status=1");
  g.ev("snd.ph_check", p + " ph=0x20000 head=0");
  g.ev("set_status.v2_break", p + " frame=0x20000 status=2 version=1");
  g.ev("snd.after_xmit", p + " ph=0x20000 err=-105");
  g.ev("set_status.v2_break", p + " frame=0x20000 status=1 version=1"); // out_status
  g.ret(po, -105);
  g.start(po, 0, 2);
  g.frame(po, a, 0, 2);
  g.ret(po, 150);
  const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2));
  ASSERT_EQ(r.frames.size(), 1u);
  const auto& f = r.frames[0];
  EXPECT_TRUE(f.status_backwards);
  EXPECT_EQ(f.outcome, Outcome::completed);
  EXPECT_TRUE(f.seen(Phase::available));
  EXPECT_EQ(f.request_seen_count, 2u);
  ASSERT_NE(find_anomaly(r, "status_backwards"), nullptr);
  EXPECT_EQ(r.summary.errors.at(-105), 1u);
  EXPECT_EQ(r.summary.xmit_errors, 1u);
}

// Timing is no evidence: a long call (the guest under TCG, a loaded machine) is not a finding.
TEST(Correlator, ALongDontwaitCallAloneIsNoFinding) {
  Gen g;
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(0x1000, 0, 2, 0x40);
  g.frame(0x1000, 0x20000, 0, 2);
  g.ts += 500'000'000; // half a second in the call, nothing observed blocking
  g.ret(0x1000, 150);
  const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2));
  EXPECT_EQ(find_anomaly(r, "blocked_dontwait"), nullptr);
  EXPECT_EQ(r.summary.blocked_calls, 0u);
  EXPECT_TRUE(r.anomalies.empty());
}

std::uint64_t line_count(const std::string& text) {
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

// DESIGN.md "Kernel event anchors": alloc.enter noblock=0 inside a MSG_DONTWAIT call is the
// 3.13 bug, with or without a sleep; a blocking send may ask for a blocking allocation.
TEST(Correlator, BlockingAllocationWithDontwaitIsBlockedDontwait) {
  for (std::uint64_t flags : {0x40ull, 0x0ull})
    for (int noblock : {0, 1}) {
      Gen g;
      const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
      g.start(0x1000, 0, 2, flags);
      const std::uint64_t call_line = line_count(g.text);
      g.ev("alloc.enter", "noblock=" + std::to_string(noblock));
      const std::uint64_t alloc_line = line_count(g.text);
      g.frame(0x1000, 0x20000, 0, 2);
      g.ret(0x1000, 150);
      g.ev("alloc.enter", "noblock=0"); // after snd.return: not inside tpacket_snd
      const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2));
      const Anomaly* a = find_anomaly(r, "blocked_dontwait");
      if (flags && noblock == 0) {
        ASSERT_NE(a, nullptr);
        EXPECT_EQ(a->message, "tpacket_snd blocked although MSG_DONTWAIT was set: it asked for a "
                              "blocking skb allocation (sock_alloc_send_pskb noblock=0) in 1 call");
        EXPECT_EQ(a->count, 1u);
        ASSERT_EQ(a->evidence.size(), 1u);
        EXPECT_EQ(a->evidence[0].anchor, "alloc.enter");
        EXPECT_EQ(a->evidence[0].trace_line, alloc_line);
        EXPECT_EQ(a->evidence[0].tid, 100u);
        EXPECT_EQ(a->evidence[0].detail,
                  "noblock=0 in the call at line " + std::to_string(call_line));
        EXPECT_EQ(r.summary.blocked_calls, 1u);
      } else {
        EXPECT_EQ(a, nullptr) << "flags " << flags << " noblock " << noblock;
        EXPECT_EQ(r.summary.blocked_calls, 0u);
      }
    }
}

// An interruptible sleep is a socket wait; an uninterruptible one is a lock or memory wait
// (pg_vec_lock held by another sending thread), legitimate with MSG_DONTWAIT: a note only.
TEST(Correlator, OnlyAnInterruptibleSleepInADontwaitCallIsBlockedDontwait) {
  struct Case {
    std::uint64_t flags;
    int state;
    std::uint32_t tid; // the sleeping task; 100 is the sending thread
    bool finding;
  };
  for (const Case c :
       {Case{0x40, 1, 100, true}, Case{0x40, 2, 100, false}, Case{0x40, 0x102, 100, false},
        Case{0x0, 1, 100, false}, Case{0x40, 1, 101, false}}) {
    Gen g;
    const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
    g.start(0x1000, 0, 2, c.flags);
    g.ev("alloc.enter", "noblock=" + std::string(c.flags ? "1" : "0"));
    g.ev("sched.sleep", "state=" + std::to_string(c.state), 0, c.tid);
    const std::uint64_t sleep_line = line_count(g.text);
    g.frame(0x1000, 0x20000, 0, 2);
    g.ret(0x1000, 150);
    const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2));
    const Anomaly* a = find_anomaly(r, "blocked_dontwait");
    const std::string what = "flags " + std::to_string(c.flags) + " state " +
                             std::to_string(c.state) + " tid " + std::to_string(c.tid);
    if (c.finding) {
      ASSERT_NE(a, nullptr) << what;
      EXPECT_EQ(a->message, "tpacket_snd blocked although MSG_DONTWAIT was set: it slept in an "
                            "interruptible (socket) wait in 1 call");
      ASSERT_EQ(a->evidence.size(), 1u);
      EXPECT_EQ(a->evidence[0].anchor, "sched.sleep");
      EXPECT_EQ(a->evidence[0].trace_line, sleep_line);
      EXPECT_EQ(a->evidence[0].detail, "state=1 in the call at line 1");
    } else {
      EXPECT_EQ(a, nullptr) << what;
      EXPECT_TRUE(r.anomalies.empty()) << what;
    }
    const bool lock_note = std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
      return n.starts_with("1 uninterruptible sleep inside tpacket_snd with MSG_DONTWAIT");
    });
    EXPECT_EQ(lock_note, c.flags && c.state != 1 && c.tid == 100) << what;
  }
}

// A kernel without the snd.return probe (-O2) never closes a call: a sleep after the call may
// belong to the sender's own waits, so nothing is judged, and the report says so.
TEST(Correlator, EventsOfACallWithoutItsReturnAreNotJudged) {
  Gen g;
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(0x1000, 0, 2, 0x40);
  g.ev("alloc.enter", "noblock=1");
  g.frame(0x1000, 0x20000, 0, 2);
  g.ev("sched.sleep", "state=1"); // the sender polling for completions, after the call
  g.start(0x1000, 1, 2, 0x40);
  g.ev("sched.sleep", "state=1"); // the last call is never closed either
  const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2));
  EXPECT_EQ(find_anomaly(r, "blocked_dontwait"), nullptr);
  EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
    return n.starts_with("2 blocking allocations or sleeps in MSG_DONTWAIT calls not judged");
  })) << ::testing::PrintToString(r.notes);
}

// tpacket_snd finding no frame twice without a wait in between spins (the soft lockup fixed in
// 6.16); a wait (snd.wait) or a sleep in between is the correct loop.
TEST(Correlator, NoFrameTwiceWithoutWaitingIsASpin) {
  for (const std::string between : {"", "snd.wait", "sched.sleep"}) {
    Gen g;
    const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
    g.start(0x1000, 0, 2, 0);
    g.frame(0x1000, 0x20000, 0, 2);
    g.ev("snd.ph_check", "po=0x1000 ph=0x0 head=1");
    const std::uint64_t first = line_count(g.text);
    if (between == "snd.wait")
      g.ev("snd.wait", "po=0x1000 pending=1 flags=0");
    else if (between == "sched.sleep")
      g.ev("sched.sleep", "state=1");
    g.ev("snd.ph_check", "po=0x1000 ph=0x0 head=1");
    const std::uint64_t second = line_count(g.text);
    if (between.empty())
      g.ev("snd.ph_check", "po=0x1000 ph=0x0 head=1"); // the same call counts once
    g.ret(0x1000, 150);
    const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2), plan_for_61());
    const Anomaly* a = find_anomaly(r, "snd_spin");
    if (between.empty()) {
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->count, 1u);
      ASSERT_EQ(a->evidence.size(), 2u);
      EXPECT_EQ(a->evidence[0].trace_line, first);
      EXPECT_EQ(a->evidence[1].trace_line, second);
      EXPECT_EQ(a->evidence[1].anchor, "snd.ph_check");
    } else {
      EXPECT_EQ(a, nullptr) << between;
    }
    EXPECT_EQ(find_anomaly(r, "blocked_dontwait"), nullptr) << "a blocking send may sleep";
  }
}

// A blocking wait that times out with every taken frame already destructed: pending leaked.
// A frame really in flight at the wait, or a wait that ends without a timeout, is no finding.
TEST(Correlator, TimedOutWaitWithNothingInFlightIsAPendingLeak) {
  for (const std::string c : {"leak", "in_flight", "no_timeout"}) {
    Gen g;
    const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
    g.start(0x1000, 0, 2, 0);
    g.frame(0x1000, 0x20000, 0, 2); // SENDING ... destruct.pending_dec
    if (c == "in_flight") {
      g.ev("get_status.v2_return", "po=0x1000 frame=0x21000 status=1");
      g.ev("set_status.v2_break", "po=0x1000 frame=0x21000 status=2 version=1");
    }
    g.ev("snd.ph_check", "po=0x1000 ph=0x0 head=1");
    g.ev("snd.wait", "po=0x1000 pending=1 flags=0");
    const std::uint64_t wait_line = line_count(g.text);
    g.ev("sched.sleep", "state=1");
    g.ret(0x1000, c == "no_timeout" ? 150 : -110);
    const std::uint64_t ret_line = line_count(g.text);
    const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2));
    const Anomaly* a = find_anomaly(r, "pending_leak");
    if (c == "leak") {
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->count, 1u);
      ASSERT_EQ(a->evidence.size(), 2u);
      EXPECT_EQ(a->evidence[0].anchor, "snd.wait");
      EXPECT_EQ(a->evidence[0].trace_line, wait_line);
      EXPECT_EQ(a->evidence[1].anchor, "snd.return");
      EXPECT_EQ(a->evidence[1].trace_line, ret_line);
    } else {
      EXPECT_EQ(a, nullptr) << c;
    }
    EXPECT_EQ(find_anomaly(r, "blocked_dontwait"), nullptr) << c;
  }
}

// A wait that starts with more timeout than the previous wait left re-armed SO_SNDTIMEO (the bug
// fixed in 6.16). Equal (a wait that consumed no jiffy) or less is the correct loop; a new call
// starts afresh; `?` proves nothing.
TEST(Correlator, WaitStartingWithMoreTimeThanLeftIsARearmedTimeout) {
  struct Case {
    std::string name, second_wait_timeo;
    bool new_call;
    bool finding;
  };
  for (const Case& c :
       {Case{"rearmed", "25", false, true}, Case{"consumed", "20", false, false},
        Case{"none_consumed", "23", false, false}, Case{"next_call", "25", true, false},
        Case{"unreadable", "?", false, false}}) {
    Gen g;
    const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
    g.start(0x1000, 0, 2, 0);
    g.frame(0x1000, 0x20000, 0, 2);
    g.ev("snd.ph_check", "po=0x1000 ph=0x0 head=1");
    g.ev("snd.wait", "po=0x1000 pending=1 flags=0 timeo=25");
    g.ev("sched.sleep", "state=1");
    g.ev("snd.wait_continue", "po=0x1000 flags=0 pending=1 timeo=23");
    const std::uint64_t left_line = line_count(g.text);
    if (c.new_call) {
      g.ret(0x1000, 150);
      g.start(0x1000, 1, 2, 0);
    }
    g.ev("snd.ph_check", "po=0x1000 ph=0x0 head=1");
    g.ev("snd.wait", "po=0x1000 pending=1 flags=0 timeo=" + c.second_wait_timeo);
    const std::uint64_t wait_line = line_count(g.text);
    g.ev("snd.wait_continue", "po=0x1000 flags=0 pending=0 timeo=20");
    g.ret(0x1000, 0);
    const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0)}, 2), plan_for_61());
    const Anomaly* a = find_anomaly(r, "sndtimeo_rearmed");
    if (!c.finding) {
      EXPECT_EQ(a, nullptr) << c.name;
      continue;
    }
    ASSERT_NE(a, nullptr) << c.name;
    EXPECT_EQ(a->count, 1u);
    EXPECT_EQ(a->anchor, "snd.wait");
    ASSERT_EQ(a->evidence.size(), 2u);
    EXPECT_EQ(a->evidence[0].anchor, "snd.wait_continue");
    EXPECT_EQ(a->evidence[0].trace_line, left_line);
    EXPECT_EQ(a->evidence[0].detail, "timeo=23 left after a wait in the call at line 1");
    EXPECT_EQ(a->evidence[1].anchor, "snd.wait");
    EXPECT_EQ(a->evidence[1].trace_line, wait_line);
    EXPECT_EQ(a->evidence[1].detail, "timeo=25 at the next wait");
  }
}

// The destructor ran and the probe that saw SENDING never saw AVAILABLE: frame left in SENDING.
TEST(Correlator, DestructorWithoutAvailableIsFrameNotRestored) {
  Gen g;
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(0x1000, 0, 2, 0x40);
  g.ev("get_status.v2_return", "po=0x1000 frame=0x20000 status=1");
  g.ev("snd.ph_check", "po=0x1000 ph=0x20000 head=0");
  g.ev("set_status.v2_break", "po=0x1000 frame=0x20000 status=2 version=1");
  g.ev("destruct.set_available", "po=0x1000 ph=0x20000 ts=0", 1, 7);
  const std::uint64_t destruct_line = line_count(g.text);
  g.ev("destruct.pending_dec", "po=0x1000 ph=0x20000 pending=1", 1, 7);
  g.ev("snd.len_sum", "po=0x1000 ph=0x20000 head=1 len_sum=0 tp_len=150 flags=64");
  g.ret(0x1000, 150);
  auto f = frame(0, 0, t0);
  f.final_status = sender::SlotStatus::sending;
  f.t_done_ns = 0;
  const Report r = analyze_text(g.text, sender_of({f}, 2));
  const Anomaly* a = find_anomaly(r, "frame_not_restored");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->message, "1 frame left in SENDING: tpacket_destruct_skb ran but never set "
                        "AVAILABLE: seq 0");
  EXPECT_EQ(a->seqs, (std::vector<std::uint64_t>{0}));
  ASSERT_EQ(a->evidence.size(), 1u);
  EXPECT_EQ(a->evidence[0].trace_line, destruct_line);
  EXPECT_EQ(a->evidence[0].seq, std::optional<std::uint64_t>(0));
  EXPECT_EQ(a->evidence[0].index, 0);
  EXPECT_EQ(find_anomaly(r, "frame_stuck"), nullptr) << "counted once, by its own id";
  // The zoo's destructor-no-available: no store was made, so the protocol check names nothing.
  EXPECT_EQ(find_anomaly(r, "status_protocol"), nullptr);
  EXPECT_EQ(r.trace.protocol_checked, 2u); // the user's request and SENDING
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_TRUE(r.frames[0].not_restored);
  EXPECT_EQ(r.frames[0].outcome, Outcome::stuck);
}

TEST(Correlator, LostRecordsOfOneFrameDoNotShiftTheJoin) {
  Gen g;
  const std::uint64_t po = 0x1000;
  std::vector<sender::FrameRecord> frames;
  // Ring of 2; frames 0..3; the kernel's records of seq 1 are lost.
  for (int seq = 0; seq < 4; ++seq) {
    frames.push_back(frame(static_cast<std::uint64_t>(seq), static_cast<std::uint32_t>(seq % 2),
                           static_cast<std::int64_t>(g.ts + 10)));
    g.start(po, seq % 2, 2);
    if (seq == 1) {
      g.ts += 5000;
    } else {
      g.frame(po, 0x20000ull + 0x1000ull * static_cast<unsigned>(seq % 2), seq % 2, 2);
    }
    g.ret(po, 150);
  }
  const Report r = analyze_text(g.text, sender_of(frames, 2));
  ASSERT_EQ(r.frames.size(), 4u);
  EXPECT_EQ(r.frames[1].sender.seq, 1u);
  EXPECT_EQ(r.frames[1].outcome, Outcome::not_seen);
  EXPECT_EQ(r.frames[3].sender.seq, 3u);
  EXPECT_EQ(r.frames[3].outcome, Outcome::completed);
  EXPECT_GE(r.frames[3].at(Phase::request_seen),
            static_cast<std::uint64_t>(r.frames[3].sender.t_request_ns));
  const Anomaly* a = find_anomaly(r, "frame_not_seen");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->seqs, (std::vector<std::uint64_t>{1}));
}

TEST(Correlator, OtherSocketsAreIgnoredAndNoted) {
  Gen g;
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(0x1000, 0, 2);
  g.frame(0x1000, 0x20000, 0, 2);
  g.ret(0x1000, 150);
  Gen other;
  other.ts = g.ts;
  other.ev("snd.start",
           "po=0x9000 head=0 frame_max=1 frame_size=4096 frames_per_block=1 version=1 flags=0", 0,
           555);
  other.ev("get_status.v2_return", "po=0x9000 frame=0x90000 status=1", 0, 555);
  other.ev("snd.ph_check", "po=0x9000 ph=0x90000 head=0", 0, 555);
  other.ev("set_status.v2_break", "po=0x9000 frame=0x90000 status=2 version=1", 0, 555);
  const Report r = analyze_text(g.text + other.text, sender_of({frame(0, 0, t0)}, 2));
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.trace.foreign_sockets, 1u);
  EXPECT_EQ(r.trace.foreign_uses, 1u);
  EXPECT_EQ(r.exit_code(), 0);
}

TEST(Correlator, FrameTakenButNeverGivenBackIsStuck) {
  Gen g;
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(0x1000, 0, 4);
  g.frame(0x1000, 0x20000, 0, 4);
  g.ev("get_status.v2_return", "po=0x1000 frame=0x21000 status=1");
  g.ev("snd.ph_check", "po=0x1000 ph=0x21000 head=1");
  g.ev("set_status.v2_break", "po=0x1000 frame=0x21000 status=2 version=1");
  g.ret(0x1000, 300);
  auto s = sender_of({frame(0, 0, t0), frame(1, 1, t0 + 1), frame(2, 2, t0 + 2)}, 4);
  s.frames[1].final_status = sender::SlotStatus::sending;
  s.frames[2].final_status = sender::SlotStatus::send_request;
  const Report r = analyze_text(g.text, s);
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(r.frames[1].outcome, Outcome::stuck);
  EXPECT_EQ(r.frames[2].outcome, Outcome::not_seen);
  ASSERT_NE(find_anomaly(r, "frame_stuck"), nullptr);
  EXPECT_EQ(find_anomaly(r, "frame_stuck")->seqs, (std::vector<std::uint64_t>{1}));
  ASSERT_NE(find_anomaly(r, "frame_not_seen"), nullptr);
}

TEST(Correlator, WrongFormatAndLossDiscard) {
  Gen g;
  const std::int64_t t0 = static_cast<std::int64_t>(g.ts);
  g.start(0x1000, 0, 4);
  g.ev("get_status.v2_return", "po=0x1000 frame=0x20000 status=1");
  g.ev("snd.ph_check", "po=0x1000 ph=0x20000 head=0");
  g.ev("set_status.v2_break", "po=0x1000 frame=0x20000 status=0 version=1"); // PACKET_LOSS skip
  g.ev("get_status.v2_return", "po=0x1000 frame=0x21000 status=1");
  g.ev("snd.ph_check", "po=0x1000 ph=0x21000 head=1");
  g.ev("set_status.v2_break", "po=0x1000 frame=0x21000 status=4 version=1"); // WRONG_FORMAT
  g.ret(0x1000, -22);
  const Report r = analyze_text(g.text, sender_of({frame(0, 0, t0), frame(1, 1, t0 + 1)}, 4));
  ASSERT_EQ(r.frames.size(), 2u);
  EXPECT_EQ(r.frames[0].outcome, Outcome::discarded);
  EXPECT_EQ(r.frames[1].outcome, Outcome::wrong_format);
  EXPECT_NE(find_anomaly(r, "frame_discarded"), nullptr);
  EXPECT_NE(find_anomaly(r, "frame_wrong_format"), nullptr);
}

TEST(Correlator, NoRecordOfTheSendersSocketIsOneAnomaly) {
  Gen g;
  g.ev("snd.start",
       "po=0x9000 head=0 frame_max=1 frame_size=4096 frames_per_block=1 version=1 flags=0", 0, 555);
  const Report r = analyze_text(g.text, sender_of({frame(0, 0, 1), frame(1, 1, 2)}, 2));
  ASSERT_NE(find_anomaly(r, "no_kernel_records"), nullptr);
  EXPECT_EQ(find_anomaly(r, "frame_not_seen"), nullptr) << "not one anomaly per frame";
}

TEST(Correlator, ManyFramesThroughASmallRingKeepBoundedTables) {
  Gen g;
  const int ring = 8, n = 20000;
  std::vector<sender::FrameRecord> frames;
  for (int k = 0; k < n; ++k) {
    if (k % ring == 0)
      g.start(0x1000, 0, ring);
    frames.push_back(frame(static_cast<std::uint64_t>(k), static_cast<std::uint32_t>(k % ring),
                           static_cast<std::int64_t>(g.ts + 10)));
    g.frame(0x1000, 0x20000ull + 0x1000ull * static_cast<unsigned>(k % ring), k % ring, ring);
  }
  AnalyzeOptions opt;
  opt.max_frame_rows = 100;
  const Report r = analyze_text(g.text, sender_of(frames, ring), {}, opt);
  EXPECT_EQ(r.frames_total, static_cast<std::uint64_t>(n));
  EXPECT_EQ(r.frames.size(), 100u);
  EXPECT_EQ(r.summary.completed, static_cast<std::uint64_t>(n));
  EXPECT_EQ(r.summary.latency.count, static_cast<std::uint64_t>(n));
  EXPECT_EQ(r.exit_code(), 0);
}

// `run --exec`: no sender records, the workload's pid. Its two sockets' frames are told apart
// (ring numbers in the order their first frame came out), a slot used again after the ring
// wrapped is a frame of its own, listed after the earlier use; another process's socket is
// ignored.
TEST(Correlator, WorkloadWithoutSenderRecordsKeepsItsSocketsApart) {
  Gen g;
  g.start(0x1000, 0, 2);
  g.frame(0x1000, 0x20000, 0, 2);
  g.frame(0x1000, 0x21000, 1, 2);
  g.ret(0x1000, 300);
  g.start(0x5000, 0, 4);
  g.frame(0x5000, 0x50000, 0, 4);
  g.ret(0x5000, 150);
  g.start(0x1000, 0, 2);
  g.frame(0x1000, 0x20000, 0, 2);
  g.ret(0x1000, 150);
  g.ev("snd.start",
       "po=0x9000 head=0 frame_max=1 frame_size=4096 frames_per_block=1 version=1 flags=0", 0, 555);
  g.ev("snd.ph_check", "po=0x9000 ph=0x90000 head=0", 0, 555);
  g.ev("set_status.v2_break", "po=0x9000 frame=0x90000 status=2 version=1", 0, 555);
  AnalyzeInputs in;
  WorkloadInfo w;
  w.argv = {"/usr/bin/prog"};
  w.pid = 100;
  w.exited = true;
  w.exit_code = 0;
  in.workload = w;
  Analysis a({}, std::move(in));
  feed_trace_text(g.text, a);
  const Report r = a.finish();
  ASSERT_EQ(r.frames.size(), 4u);
  const std::vector<std::pair<std::uint32_t, std::int64_t>> want = {{0, 0}, {0, 1}, {0, 0}, {1, 0}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(r.frames[i].has_sender);
    EXPECT_EQ(r.frames[i].ring, want[i].first);
    EXPECT_EQ(r.frames[i].index, want[i].second);
    EXPECT_EQ(r.frames[i].outcome, Outcome::completed);
  }
  EXPECT_EQ(r.frames[3].po, 0x5000u);
  EXPECT_EQ(r.trace.foreign_sockets, 1u);
  ASSERT_TRUE(r.workload);
  EXPECT_EQ(r.workload->pid, 100u);
  EXPECT_EQ(r.exit_code(), 0) << (r.anomalies.empty() ? "" : r.anomalies[0].message);
  EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
    return n.find("only the built-in sender adds") != std::string::npos;
  }));
}
