#include "base/files.hpp"
#include "probes/anchors.hpp"
#include "probes/line_map.hpp"
#include "probes/locator.hpp"
#include "synthetic_sources.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>

namespace harness::probes {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kShipped = std::string(HARNESS_SOURCE_DIR) + "/probes/maps/";

LineMap sample() {
  auto m = locate(synth::synthetic_source(synth::eras().at("3.13")), "3.13.0-1-test");
  EXPECT_TRUE(m);
  m->package = "test package 1.0";
  m->note = "made by the test";
  m->build_ids = {"e1a8fd6f725cf3c0e42c9fceb7e277af747f5317"};
  return *m;
}

TEST(LineMap, RoundTrip) {
  const LineMap m = sample();
  const std::string text = line_map_to_json(m);
  auto back = line_map_from_json(text, "mem");
  ASSERT_TRUE(back) << back.error().why;
  EXPECT_EQ(line_map_to_json(*back), text);
  EXPECT_EQ(back->release, "3.13.0-1-test");
  EXPECT_EQ(back->build_ids, m.build_ids);
  EXPECT_EQ(map_identity(*back),
            "3.13.0-1-test (test package 1.0, sha1 " + m.source_sha1.substr(0, 12) + ")");
}

// The shipped map files are fixed JSON written by hand or by `harness map`: reading one and
// writing it again gives the same document, so a key the reader drops (or the writer adds)
// shows here, where a round trip of the writer's own output would hide it.
TEST(LineMap, ShippedFilesReadAndWriteUnchanged) {
  for (const char* name : {"3.13.0-116-ubuntu", "6.1.192-debian", "6.12.117-debian"}) {
    const std::string path = std::string(HARNESS_SOURCE_DIR) + "/probes/maps/" + name + ".json";
    auto text = read_file(path);
    ASSERT_TRUE(text) << path;
    auto m = line_map_from_json(*text, path);
    ASSERT_TRUE(m) << m.error().why;
    EXPECT_EQ(nlohmann::json::parse(line_map_to_json(*m)), nlohmann::json::parse(*text)) << path;
  }
}

// Issue 3: the 3.13.0-116 entry reproduces the original scripts' numbers.
TEST(LineMap, Ubuntu313EntryHasTheOriginalNumbers) {
  auto m = load_line_map(kShipped + "3.13.0-116-ubuntu.json");
  ASSERT_TRUE(m) << m.error().why;
  EXPECT_EQ(m->source_sha1, "194e05daa126be605dc271410ae1312a45c4c375");
  const std::map<std::string, std::pair<int, std::string>> want = {
      {"set_status.v1_break", {334, "break;"}},
      {"set_status.v2_break", {338, "break;"}},
      {"get_status.v1_return", {358, "return h.h1->tp_status;"}},
      {"get_status.v2_return", {361, "return h.h2->tp_status;"}},
      {"destruct.pending_dec", {1956, "atomic_dec(&po->tx_ring.pending);"}},
      {"destruct.set_available", {1959, "__packet_set_status(po, ph, TP_STATUS_AVAILABLE | ts);"}},
      {"snd.size_max_clamp", {2133, "if (size_max > dev->mtu + reserve + VLAN_HLEN)"}},
      {"snd.ph_check", {2140, "if (unlikely(ph == NULL)) {"}},
      {"snd.wait", {2141, "schedule();"}},
      {"snd.wait_continue", {2142, "continue;"}},
      {"snd.alloc_failed", {2153, "goto out_status;"}},
      {"snd.after_xmit", {2182, "if (unlikely(err > 0)) {"}},
      {"snd.already_destructed", {2187, "skb = NULL;"}},
      {"snd.not_destructed", {2194, "err = 0;"}},
      {"snd.len_sum", {2197, "len_sum += tp_len;"}},
      {"snd.return", {2213, "return err;"}},
      {"set_status.start", {325, ""}},
      {"get_status.start", {348, ""}},
      {"destruct.start", {1946, ""}},
      {"snd.start", {2088, ""}},
      {"set_status.v3_break", {0, ""}},
      {"get_status.v3_return", {0, ""}},
      {"snd.else_break", {0, ""}},
  };
  for (const auto& [name, lt] : want) {
    const auto* a = m->anchor(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->line, lt.first) << name;
    if (!lt.second.empty()) {
      EXPECT_EQ(a->text, lt.second) << name;
    }
  }
  EXPECT_EQ(m->function("__packet_set_status")->start, 325);
  EXPECT_EQ(m->function("__packet_get_status")->start, 348);
  EXPECT_EQ(m->function("tpacket_destruct_skb")->start, 1946);
  EXPECT_EQ(m->function("tpacket_snd")->start, 2088);
}

struct Bad {
  std::string name;
  std::function<void(json&)> edit;
  std::string why; // substring of the error
};

class LineMapMalformed : public ::testing::TestWithParam<Bad> {};

TEST_P(LineMapMalformed, IsRejectedWithAClearError) {
  json j = json::parse(line_map_to_json(sample()));
  GetParam().edit(j);
  auto r = line_map_from_json(j.dump(), "bad.json");
  ASSERT_FALSE(r) << GetParam().name;
  EXPECT_EQ(r.error().what, "bad.json");
  EXPECT_THAT(r.error().why, HasSubstr(GetParam().why));
  EXPECT_FALSE(r.error().hint.empty());
}

json& anchor(json& j, const std::string& name) {
  for (auto& a : j["anchors"])
    if (a["name"] == name)
      return a;
  throw std::runtime_error("no anchor " + name);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LineMapMalformed,
    ::testing::Values(
        Bad{"schema", [](json& j) { j["schema"] = "harness.map/2"; },
            "schema: 'harness.map/2' is not harness.map/1"},
        Bad{"no_release", [](json& j) { j.erase("release"); }, "release: missing"},
        Bad{"release_quote", [](json& j) { j["release"] = "6.1\"); system(\"x"; },
            "is not a kernel release"},
        Bad{"sha1", [](json& j) { j["source"]["sha1"] = "XYZ"; }, "source.sha1: expected 40"},
        Bad{"path", [](json& j) { j["source"]["path"] = "/etc/passwd"; },
            "source.path: must be net/packet/af_packet.c"},
        Bad{"unknown_field", [](json& j) { j["extra"] = 1; }, "extra: unknown field"},
        Bad{"build_id", [](json& j) { j["source"]["build_ids"] = {"../../x"}; },
            "source.build_ids: expected build ids"},
        Bad{"build_ids_not_array", [](json& j) { j["source"]["build_ids"] = "abcd1234"; },
            "source.build_ids: expected an array"},
        Bad{"unknown_anchor",
            [](json& j) {
              j["anchors"].push_back({{"name", "snd.evil"}, {"line", 1}, {"text", ""}});
            },
            "'snd.evil' is not a known anchor"},
        Bad{"duplicate_anchor", [](json& j) { j["anchors"].push_back(j["anchors"][3]); },
            "listed twice"},
        Bad{"missing_anchor", [](json& j) { j["anchors"].erase(j["anchors"].size() - 1); },
            "anchor snd.end missing"},
        Bad{"line_string", [](json& j) { anchor(j, "snd.len_sum")["line"] = "12"; },
            "line: not a number"},
        Bad{"line_negative", [](json& j) { anchor(j, "snd.len_sum")["line"] = -5; },
            "out of range"},
        Bad{"line_huge", [](json& j) { anchor(j, "snd.len_sum")["line"] = 1e12; },
            "line: not an integer"},
        Bad{"line_outside", [](json& j) { anchor(j, "snd.len_sum")["line"] = 3; },
            "is outside tpacket_snd"},
        Bad{"required_absent",
            [](json& j) {
              anchor(j, "snd.len_sum")["line"] = 0;
              anchor(j, "snd.len_sum")["text"] = "";
            },
            "exists in every kernel"},
        Bad{"text_newline",
            [](json& j) {
              anchor(j, "snd.len_sum")["text"] = "x\n}\nprobe begin { system(\"rm\") }";
            },
            "control characters"},
        Bad{"start_mismatch",
            [](json& j) {
              anchor(j, "snd.start")["line"] = j["functions"][3]["start"].get<int>() + 1;
            },
            "must equal the function's start line"},
        Bad{"function_unknown", [](json& j) { j["functions"][0]["role"] = "system"; },
            "is not a function harness probes"},
        Bad{"function_name",
            [](json& j) { j["functions"][3]["name"] = "tpacket_snd\") { } probe begin {"; },
            "is not a known name of tpacket_snd"},
        Bad{"function_missing", [](json& j) { j["functions"].erase(0); },
            "function __packet_set_status missing"},
        Bad{"not_object", [](json& j) { j = json::array(); }, "expected a JSON object"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(LineMap, NotJsonAndMissingFile) {
  auto r = line_map_from_json("{ \"schema\": ", "broken.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().why.rfind("not valid JSON: parse error at line 1", 0), 0u) << r.error().why;
  auto f = load_line_map("/nonexistent/map.json");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().what, "/nonexistent/map.json");
}

TEST(LineMap, ReleaseAndSha1Syntax) {
  EXPECT_TRUE(valid_release("3.13.0-116-generic"));
  EXPECT_TRUE(valid_release("6.12.117"));
  EXPECT_TRUE(valid_release("6.1.0-28+deb12~u1_x"));
  EXPECT_FALSE(valid_release(""));
  EXPECT_FALSE(valid_release("v6.1"));
  EXPECT_FALSE(valid_release("6.1 x"));
  EXPECT_FALSE(valid_release("6.1\""));
  EXPECT_FALSE(valid_release(std::string(65, '1')));
  EXPECT_TRUE(valid_sha1("194e05daa126be605dc271410ae1312a45c4c375"));
  EXPECT_FALSE(valid_sha1("194E05DAA126BE605DC271410AE1312A45C4C375"));
}

TEST(LineMap, SaveWritesWhatLoads) {
  const std::string path = std::string(HARNESS_BINARY_DIR) + "/line_map_test_save.json";
  ASSERT_TRUE(save_line_map(path, sample()));
  auto back = load_line_map(path);
  ASSERT_TRUE(back) << back.error().why;
  EXPECT_EQ(back->package, "test package 1.0");
}

} // namespace
} // namespace harness::probes
