#include "base/files.hpp"
#include "base/json_text.hpp"
#include "sender/send_audit.hpp"
#include "sender/send_record_json.hpp"

#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <nlohmann/json.hpp>

using namespace harness;
using namespace harness::sender;

namespace {

SenderRecord sample() {
  SenderRecord r;
  r.run_id = 3735928559u;
  r.pid = 1234;
  r.iface = "eth0";
  r.version = TpacketVersion::v2;
  r.size = 150;
  r.ring = {8, 4096, 4096, 1, 8};
  for (std::uint32_t i = 0; i < 2; ++i)
    r.frames.push_back(FrameRecord{i, i, 0, 10 + i, 20 + i, 30 + i, 40 + i, SlotStatus::available});
  for (std::uint32_t i = 0; i < 8; ++i)
    r.slots.push_back(SlotAudit{i, 0, SlotStatus::available, 0});
  r.totals.requested = 2;
  r.totals.queued = 2;
  r.totals.sent = 2;
  r.totals.bytes = 300;
  r.totals.elapsed_ns = 1000;
  r.totals.send_calls = 1;
  r.before = {true, 0, 0, 0};
  r.after = {true, 2, 300, 0};
  return r;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(SlotStatus, DecodesTxStatusValues) {
  EXPECT_EQ(classify_status(TP_STATUS_AVAILABLE), SlotStatus::available);
  EXPECT_EQ(classify_status(TP_STATUS_SEND_REQUEST), SlotStatus::send_request);
  EXPECT_EQ(classify_status(TP_STATUS_SENDING), SlotStatus::sending);
  // Value 4: WRONG_FORMAT on TX, the bit RX rings call LOSING.
  EXPECT_EQ(classify_status(4), SlotStatus::wrong_format);
  EXPECT_EQ(classify_status(TP_STATUS_AVAILABLE | TP_STATUS_TS_SOFTWARE), SlotStatus::available);
  EXPECT_EQ(classify_status(3), SlotStatus::unknown);
  EXPECT_EQ(status_name(SlotStatus::wrong_format), "WRONG_FORMAT");
  EXPECT_EQ(parse_status_name("LOSING"), SlotStatus::wrong_format);
  EXPECT_FALSE(parse_status_name("BOGUS"));
}

TEST(SenderRecordJson, HasTheDocumentedShape) {
  const auto j = to_json(sample());
  EXPECT_EQ(j["schema"], "harness.sender/1");
  EXPECT_EQ(j["run_id"], 3735928559u);
  EXPECT_EQ(j["tpacket"], 2);
  EXPECT_EQ(j["socket"], "raw");
  EXPECT_EQ(j["ring"]["frames_per_block"], 1);
  EXPECT_EQ(j["frames"][1]["seq"], 1);
  EXPECT_EQ(j["frames"][1]["t_done_ns"], 41);
  EXPECT_EQ(j["frames"][1]["final"], "AVAILABLE");
  EXPECT_FALSE(j["frames"][1].contains("ring")); // only with several sockets
  EXPECT_EQ(j["slots"][7]["status"], "AVAILABLE");
  EXPECT_EQ(j["slots"][7]["raw"], 0);
  for (const char* k : {"requested", "sent", "bytes", "elapsed_ns", "send_calls", "retries"})
    EXPECT_TRUE(j["totals"].contains(k)) << k;
  EXPECT_EQ(j["iface_counters"]["after"]["tx_bytes"], 300);
}

// The example of docs/DESIGN.md ("Sender records"), fixed JSON written independently of the code:
// the reader takes every value, and the writer writes back every key the example has.
TEST(SenderRecordJson, ReadsAndWritesTheDocumentedExample) {
  auto design = read_file(std::string(HARNESS_SOURCE_DIR) + "/docs/DESIGN.md");
  ASSERT_TRUE(design);
  const auto from = design->find("```json", design->find("## Sender records"));
  ASSERT_NE(from, std::string::npos);
  const auto body = from + 7;
  const auto doc = nlohmann::json::parse(design->substr(body, design->find("```", body) - body));
  auto r = sender_record_from_json(doc);
  ASSERT_TRUE(r) << format_error(r.error());
  EXPECT_EQ(r->run_id, 3735928559u);
  EXPECT_EQ(r->pid, 1234);
  EXPECT_EQ(r->iface, "eth0");
  EXPECT_EQ(r->ring.frames, 8u);
  EXPECT_EQ(r->ring.frames_per_block, 1u);
  ASSERT_EQ(r->frames.size(), 1u);
  EXPECT_EQ(r->frames[0].final_status, SlotStatus::available);
  ASSERT_EQ(r->slots.size(), 1u);
  EXPECT_EQ(r->totals.requested, 2u);
  EXPECT_EQ(r->totals.bytes, 300u);
  EXPECT_EQ(r->after.tx_packets, 2u);
  EXPECT_EQ(r->after.tx_bytes, 300u);
  const auto back = to_json(*r);
  // Every key of the example, at every level, is written back with the same value.
  std::function<void(const nlohmann::json&, const nlohmann::json&, const std::string&)> same;
  same = [&](const nlohmann::json& want, const nlohmann::json& got, const std::string& at) {
    if (want.is_object()) {
      for (const auto& [k, v] : want.items()) {
        ASSERT_TRUE(got.is_object() && got.contains(k)) << at << "." << k << " not written";
        same(v, got[k], at + "." + k);
      }
    } else if (want.is_array()) {
      ASSERT_TRUE(got.is_array() && got.size() == want.size()) << at;
      for (std::size_t i = 0; i < want.size(); ++i)
        same(want[i], got[i], at + "[" + std::to_string(i) + "]");
    } else {
      EXPECT_EQ(got, want) << at;
    }
  };
  same(doc, back, "");
}

TEST(SenderRecordJson, RoundTrips) {
  auto r = sample();
  r.sockets = 2;
  r.frames[1].ring = 1;
  r.frames[1].malformed = true;
  r.slots[3].status = SlotStatus::wrong_format;
  r.slots[3].raw = 4;
  r.interrupted = true;
  r.notes = {"a note"};
  r.injected = {2, 1, "EBUSY"};
  r.receiver = ReceiverCheck{"veth1", 2, 2, 1, 0, 0, 0, 0, 0, 0, "", true};
  r.after.valid = false;
  auto back = sender_record_from_json(to_json(r));
  ASSERT_TRUE(back) << format_error(back.error());
  EXPECT_EQ(to_json(*back), to_json(r));
  EXPECT_FALSE(back->after.valid);
  EXPECT_EQ(back->frames[1].ring, 1u);
  EXPECT_TRUE(back->frames[1].malformed);
}

// sender_record_keys is what a reader keeps of a file (parse_json): every key the writer writes is
// in it, so a record read through it is the record written.
TEST(SenderRecordJson, TheKeysAReaderKeepsAreEveryKeyWritten) {
  auto r = sample();
  r.notes = {"a note"};
  r.injected = {2, 1, "EBUSY"};
  r.receiver = ReceiverCheck{"veth1", 2, 2, 1, 0, 0, 0, 0, 0, 0, "", true};
  const auto written = to_json(r);
  const auto keys = sender_record_keys();
  for (const auto& [key, value] : written.items())
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
  EXPECT_EQ(keys.size(), written.size()) << "a key in the list that the writer never writes";
  auto text = written.dump();
  text.insert(1, R"("junk": [0, 0, 0, {"pid": 1}], )");
  auto parsed = parse_json(text, keys);
  ASSERT_TRUE(parsed) << parsed.error();
  auto back = sender_record_from_json(*parsed);
  ASSERT_TRUE(back) << format_error(back.error());
  EXPECT_EQ(to_json(*back), written);
}

TEST(SenderRecordJson, MalformedRecordsNameTheKey) {
  auto j = to_json(sample());
  j["schema"] = "harness.sender/9";
  auto r = sender_record_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  EXPECT_TRUE(has(r.error().what, "schema"));

  j = to_json(sample());
  j["frames"][1].erase("t_send_ns");
  r = sender_record_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "sender record frames[1].t_send_ns");
  EXPECT_EQ(r.error().why, "missing");

  j = to_json(sample());
  j["slots"][0]["status"] = "BOGUS";
  r = sender_record_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().why, "BOGUS"));

  j = to_json(sample());
  j["totals"]["sent"] = -1;
  EXPECT_FALSE(sender_record_from_json(j));
  EXPECT_FALSE(sender_record_from_json(nlohmann::json::array()));
}

TEST(SenderRecordAudit, AllSentIsOk) {
  const auto r = sample();
  EXPECT_TRUE(all_frames_sent(r));
  const auto text = format_audit(r);
  EXPECT_TRUE(has(text, "verdict   OK")) << text;
  EXPECT_TRUE(has(text, "8 AVAILABLE")) << text;
  EXPECT_TRUE(has(text, "WRONG_FORMAT (status 4, = LOSING on RX rings)")) << text;
  EXPECT_TRUE(has(text, "packets 0 -> 2 (+2)")) << text;
}

// Issue 30: "14877.957 ms, 7 frames/s, 0.0 Mbit/s" and "1 calls" are read by people.
TEST(SenderRecordAudit, TimesRatesAndCountsReadAsPeopleWriteThem) {
  auto r = sample();
  r.totals.elapsed_ns = 14'877'957'000;
  r.totals.sent = 100;
  r.totals.bytes = 15'000;
  r.totals.send_calls = 1;
  r.totals.retries = 1;
  r.totals.send_errors = 1;
  std::string text = format_audit(r);
  EXPECT_TRUE(has(text, "time      14.9 s, 7 frames/s, 8.1 kbit/s\n")) << text;
  EXPECT_TRUE(has(text, "send()    1 call, 1 ENOBUFS/EAGAIN retry, 1 error\n")) << text;
  r.totals.elapsed_ns = 33'000;
  r.totals.bytes = 1'500'000;
  r.totals.send_calls = 2;
  r.totals.send_errors = 0;
  text = format_audit(r);
  EXPECT_TRUE(has(text, "time      0.033 ms, ")) << text;
  EXPECT_TRUE(has(text, "frames/s, 363.6 Gbit/s\n")) << text;
  EXPECT_TRUE(has(text, "2 calls, 1 ENOBUFS/EAGAIN retry, 0 errors")) << text;
}

TEST(SenderRecordAudit, StrandedFramesAndSlotsAreListed) {
  auto r = sample();
  r.totals.requested = 10;
  for (std::uint32_t i = 2; i < 8; ++i) {
    r.frames.push_back(FrameRecord{i, i, 0, 1, 1, 1, 0, SlotStatus::send_request});
    r.slots[i].status = SlotStatus::send_request;
    r.slots[i].raw = 1;
  }
  EXPECT_FALSE(all_frames_sent(r));
  const auto text = format_audit(r);
  EXPECT_TRUE(has(text, "SEND_REQUEST at slots 2-7")) << text;
  EXPECT_TRUE(has(text, "6 frames left in SEND_REQUEST: seq 2-7")) << text;
  EXPECT_TRUE(has(text, "verdict   FAILED: 8 frames not sent")) << text;
}

TEST(SenderRecordAudit, VerdictCases) {
  auto r = sample();
  r.interrupted = true;
  EXPECT_FALSE(all_frames_sent(r));
  EXPECT_TRUE(has(format_audit(r), "INTERRUPTED"));
  r = sample();
  r.receiver = ReceiverCheck{};
  r.receiver->missing = 1;
  r.receiver->first_problem = "sequence number 1 was sent but never arrived";
  EXPECT_FALSE(all_frames_sent(r));
  EXPECT_TRUE(has(format_audit(r), "first problem: sequence number 1"));
  r = sample();
  r.slots[0].status = SlotStatus::wrong_format;
  EXPECT_FALSE(all_frames_sent(r));
  EXPECT_TRUE(has(format_frames(sample()), "AVAILABLE"));
}

namespace {

// The error loading `j`, which must be refused.
Error refused(const nlohmann::json& j) {
  auto r = sender_record_from_json(j);
  EXPECT_FALSE(r) << j.dump().substr(0, 200);
  return r ? Error{} : r.error();
}

} // namespace

TEST(SenderRecordJson, NumbersAreRangeChecked) {
  const auto good = to_json(sample());
  ASSERT_TRUE(sender_record_from_json(good));
  struct Case {
    nlohmann::json::json_pointer at;
    nlohmann::json value;
    std::string key; // named in the error
  };
  const std::vector<Case> cases = {
      {"/ring/frames"_json_pointer, std::uint64_t{1} << 62, "ring.frames"}, // was "ring 0"
      {"/ring/frames"_json_pointer, 0, "ring.frames"},
      {"/ring/frame_size"_json_pointer, 0, "ring"},
      {"/ring/frame_size"_json_pointer, 8192, "ring.frame_size"}, // > block_size
      {"/frames/0/index"_json_pointer, 999, "frames[0].index"},   // 8-slot ring
      {"/frames/1/seq"_json_pointer, 0, "frames[1].seq"},         // duplicate
      {"/frames/0/t_fill_ns"_json_pointer, -5, "frames[0].t_*_ns"},
      {"/frames/0/t_fill_ns"_json_pointer, 1e308, "t_fill_ns"}, // not an integer
      {"/pid"_json_pointer, -1, "pid"},
      {"/run_id"_json_pointer, std::uint64_t{1} << 40, "run_id"},
      {"/slots/3/index"_json_pointer, 8, "slots[3]"},
      {"/frames/0/ring"_json_pointer, 1, "frames[0].ring"},
  };
  for (const auto& c : cases) {
    auto j = good;
    j[c.at] = c.value;
    const Error e = refused(j);
    EXPECT_EQ(e.code, Exit::usage);
    EXPECT_TRUE(has(e.what, c.key)) << c.key << ": " << e.what << ": " << e.why;
  }
}

TEST(SenderRecordJson, StringsAreBoundedAndEscapesRemoved) {
  auto j = to_json(sample());
  j["notes"] = {"\x1b]0;pwned\x07\x1b[2Jcleared \xc2\x9b"
                "31m"};
  j["netns"] = "ns\x1b[31m";
  auto r = sender_record_from_json(j);
  ASSERT_TRUE(r) << format_error(r.error());
  for (const auto& text : {format_audit(*r), r->notes.front(), r->netns}) {
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << text;
  }
  j = to_json(sample());
  j["iface"] = std::string(10 << 20, 'e'); // a 10 MB interface name
  EXPECT_TRUE(has(refused(j).what, "iface"));
  j = to_json(sample());
  j["notes"] = {std::string(1 << 20, 'n')};
  EXPECT_TRUE(has(refused(j).what, "notes"));
}
