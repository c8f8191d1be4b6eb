// `harness map`, `drift` and `generate -o` as binaries, on Debian's real af_packet.c files. The
// expectations are the shipped map files (probes/maps/*.json, committed JSON), not a second run of
// the code under test.
#include "cli_test_util.hpp"

#include <nlohmann/json.hpp>

namespace harness {
namespace {

using namespace cli_testing;
using json = nlohmann::json;

json shipped(const std::string& name) {
  auto text = read_file(std::string(HARNESS_SOURCE_DIR) + "/probes/maps/" + name + ".json");
  EXPECT_TRUE(text) << name;
  return text ? json::parse(*text) : json::object();
}

json read_json(const std::string& path) {
  auto text = read_file(path);
  EXPECT_TRUE(text) << path;
  return text ? json::parse(*text) : json::object();
}

TEST(MapBinary, WritesTheShippedEntryForDebians61Source) {
  ScratchDir dir("map");
  const std::string out = dir.file("map.json");
  auto r = harness({"map", "--source", af_packet("6.1"), "-o", out});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "the map goes to the file only";
  EXPECT_NE(r.err.find("written to " + out), std::string::npos) << r.err;
  const json m = read_json(out);
  const json want = shipped("6.1.192-debian");
  EXPECT_EQ(m["schema"], "harness.map/1");
  EXPECT_EQ(m["release"], "6.1.192"); // from the tree's Makefile next to the source
  for (const char* k : {"source", "functions", "anchors"})
    EXPECT_EQ(m[k], want[k]) << k;
  // Without -o the same entry goes to stdout, and no file is written.
  auto stdout_run = harness({"map", "--source", af_packet("6.1")});
  EXPECT_EQ(stdout_run.status.code, 0);
  EXPECT_EQ(json::parse(stdout_run.out)["anchors"], want["anchors"]);
}

TEST(DriftBinary, ExitZeroOneTwo) {
  auto same = harness({"drift", "--source", af_packet("6.1"), "--kernel", "6.1"});
  EXPECT_EQ(same.status.code, 0) << same.err;
  EXPECT_NE(same.out.find("no drift: every anchor is where the map says"), std::string::npos);

  auto moved = harness({"drift", "--source", af_packet("6.12"), "--kernel", "6.1"});
  EXPECT_EQ(moved.status.code, 1) << moved.err;
  // One row per anchor, with the old line from the 6.1 map and the new one from 6.12's.
  EXPECT_NE(moved.out.find("snd.len_sum               2989  3016  moved (+27)"), std::string::npos)
      << moved.out;
  EXPECT_NE(moved.out.find("destruct.start            2595  2631  text changed"), std::string::npos)
      << moved.out;

  auto json_out = harness({"drift", "--source", af_packet("6.12"), "--kernel", "6.1", "--json"});
  EXPECT_EQ(json_out.status.code, 1);
  EXPECT_TRUE(json::accept(json_out.out)) << json_out.out;

  ScratchDir dir("drift2");
  ASSERT_TRUE(write_file_atomic(dir.file("bad.json"), "{\"schema\": \"harness.map/1\"}"));
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"drift", "--source", dir.file("missing.c"), "--kernel", "6.1"},
        {"drift", "--source", af_packet("6.1"), "--map", dir.file("bad.json")},
        {"drift", "--source", af_packet("6.1")}}) {
    auto bad = harness(args);
    EXPECT_EQ(bad.status.code, 2) << args[2] << "\n" << bad.err;
    EXPECT_EQ(bad.err.rfind("harness: ", 0), 0u) << bad.err;
  }
}

// A map of the same kernel whose lines are off (a hand-edited copy): --update puts the source's
// lines back into that file and no other. A source of another kernel is refused (issue 12).
TEST(DriftBinary, UpdateRewritesOnlyTheGivenMapFile) {
  ScratchDir dir("update");
  const std::string copy = dir.file("map.json");
  const std::string shipped_path =
      std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json";
  const auto original = read_file(shipped_path);
  ASSERT_TRUE(original);
  json off = json::parse(*original);
  for (auto& a : off["anchors"])
    if (a["name"] == "snd.len_sum")
      a["line"] = a["line"].get<int>() + 3;
  ASSERT_TRUE(write_file_atomic(copy, off.dump(2) + "\n"));

  auto r = harness({"drift", "--source", af_packet("6.1"), "--map", copy, "--update"});
  EXPECT_EQ(r.status.code, 1) << "it drifted: " << r.err;
  EXPECT_NE(r.err.find("updated " + copy), std::string::npos) << r.err;
  const json updated = read_json(copy);
  const json want = shipped("6.1.192-debian");
  for (const char* k : {"source", "functions", "anchors"})
    EXPECT_EQ(updated[k], want[k]) << k;
  EXPECT_EQ(*read_file(shipped_path), *original) << "the shipped map must not be touched";

  auto again = harness({"drift", "--source", af_packet("6.1"), "--map", copy});
  EXPECT_EQ(again.status.code, 0) << again.out;

  const auto before = read_file(copy);
  auto foreign = harness({"drift", "--source", af_packet("6.12"), "--map", copy, "--update"});
  EXPECT_EQ(foreign.status.code, 2) << foreign.err;
  EXPECT_EQ(*read_file(copy), *before) << "another kernel's lines must not be written";
}

TEST(GenerateBinary, WritesTheScriptAndItsPlanOnTheMapsLines) {
  ScratchDir dir("generate");
  const std::string script = dir.file("probes.stp");
  auto r = harness({"generate", "--kernel", "6.1", "--probes", "status", "-o", script});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const auto text = read_file(script);
  ASSERT_TRUE(text);
  const json plan = read_json(script + ".plan.json");
  EXPECT_EQ(plan["schema"], "harness.plan/1");
  EXPECT_EQ(plan["kernel"], "6.1.192");
  EXPECT_EQ(plan["probes"], "status");
  const json map = shipped("6.1.192-debian");
  EXPECT_EQ(plan["source_sha1"], map["source"]["sha1"]);
  // Every planned anchor sits on the shipped map's line, and the script probes that line.
  ASSERT_FALSE(plan["anchors"].empty());
  for (const auto& a : plan["anchors"]) {
    const std::string name = a["anchor"];
    if (name == "alloc.enter" || name == "sched.sleep") { // kernel events: no af_packet.c line
      EXPECT_EQ(a["line"], 0) << name;
      continue;
    }
    int want = -1;
    for (const auto& m : map["anchors"])
      if (m["name"] == name)
        want = m["line"];
    EXPECT_EQ(a["line"], want) << name;
    if (name != "snd.start") { // probed as the function entry
      EXPECT_NE(text->find("@net/packet/af_packet.c:" + std::to_string(want) + "\")"),
                std::string::npos)
          << name << " at line " << want;
    }
  }
}

// The script `generate -o` writes passes SystemTap's parser (pass 1). Without stap this skips,
// saying so; scripts/test-all fails on that skip, since CI installs stap.
TEST(GenerateBinary, TheWrittenScriptPassesStapPass1) {
  if (!find_program("stap"))
    GTEST_SKIP() << "stap is not installed (scripts/install-deps --tests installs it)";
  ScratchDir dir("generate-p1");
  const std::string script = dir.file("probes.stp");
  auto r = harness({"generate", "--kernel", "6.1", "--probes", "all", "-o", script});
  ASSERT_EQ(r.status.code, 0) << r.err;
  // stap -r wants a skeleton tree even for pass 1.
  ASSERT_TRUE(make_dirs(dir.file("tree/include/config")));
  ASSERT_TRUE(write_file_atomic(dir.file("tree/.config"), "# skeleton for stap -p1\n"));
  ASSERT_TRUE(write_file_atomic(dir.file("tree/Module.symvers"), ""));
  ASSERT_TRUE(write_file_atomic(dir.file("tree/include/config/kernel.release"), "6.1.192\n"));
  auto p1 = run_captured({.exe = "stap", .args = {"-p1", "-r", dir.file("tree"), script}},
                         std::chrono::hours(1));
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->status.code, 0) << p1->err;
}

// Checked before anything is generated (issue 12): bad input, exit 2, nothing written.
TEST(GenerateBinary, RefusesToWriteIntoAMissingDirectory) {
  auto r = harness({"generate", "--kernel", "6.1", "-o", "/proc/hx-no-such-dir/p.stp"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("harness: -o /proc/hx-no-such-dir/p.stp", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

} // namespace
} // namespace harness
