#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/sha1.hpp"
#include "probes/anchors.hpp"
#include "probes/locator.hpp"
#include "probes/map_store.hpp"
#include "probes/trace_format.hpp"
#include "stap/generate.hpp"
#include "synthetic_sources.hpp"
#include "text_lines.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <sstream>

namespace harness::stap {
namespace {

using namespace harness::probes;

using ::testing::HasSubstr;

const std::string kGolden = std::string(HARNESS_SOURCE_DIR) + "/tests/stap/golden/";
const std::string kWork = std::string(HARNESS_BINARY_DIR) + "/generate_test";

// Every key at every anchor, as the script reads it (pinned from the expressions generate.cpp
// had before probes/field_sources.hpp held them): none for `state`, which the sched.sleep probe
// reads itself.
TEST(Generate, FieldExpressionsOfEveryKeyAndAnchor) {
  const std::map<std::string_view, std::vector<std::string>> general = {
      {"po", {"$po"}},
      {"frame", {"$frame"}},
      {"ph", {"$ph"}},
      {"status", {"$status"}},
      {"head", {"$po->tx_ring->head"}},
      {"frame_max", {"$po->tx_ring->frame_max"}},
      {"frame_size", {"$po->tx_ring->frame_size"}},
      {"frames_per_block", {"$po->tx_ring->frames_per_block"}},
      {"version", {"$po->tp_version"}},
      {"flags", {"$msg->msg_flags"}},
      {"pending", {"$po->tx_ring->pending->counter"}},
      {"err", {"$err"}},
      {"len_sum", {"$len_sum"}},
      {"tp_len", {"$tp_len"}},
      {"ts", {"$ts"}},
      {"sndbuf", {"$po->sk->sk_sndbuf"}},
      {"wmem", {"$po->sk->sk_wmem_alloc->refs->counter", "$po->sk->sk_wmem_alloc->counter"}},
      {"noblock", {"$noblock"}},
      {"state", {}},
      {"timeo", {"$timeo"}},
      {"skb", {"$skb"}},
  };
  const std::map<std::pair<std::string_view, std::string_view>, std::vector<std::string>> own = {
      {{"get_status.v1_return", "status"}, {"$h->h1->tp_status"}},
      {{"get_status.v2_return", "status"}, {"$h->h2->tp_status"}},
      {{"get_status.v3_return", "status"}, {"$h->h3->tp_status"}},
      {{"destruct.pending_dec", "po"}, {"$po", "$tu->po"}},
      {{"destruct.pending_dec", "ph"}, {"$ph", "$tu->ph"}},
      {{"destruct.set_available", "po"}, {"$po", "$tu->po"}},
      {{"destruct.set_available", "ph"}, {"$ph", "$tu->ph"}},
      {{"destruct.after_available", "po"}, {"$po", "$tu->po"}},
      {{"destruct.after_available", "ph"}, {"$ph", "$tu->ph"}},
  };
  ASSERT_EQ(general.size(), trace::all_keys.size());
  for (const auto& a : anchor_table)
    for (auto key : trace::all_keys) {
      const auto it = own.find({a.name, key});
      EXPECT_EQ(field_expressions(a.name, key), it != own.end() ? it->second : general.at(key))
          << a.name << " " << key;
    }
}

LineMap shipped(const std::string& spec) {
  auto s = select_map(spec);
  EXPECT_TRUE(s) << spec;
  EXPECT_TRUE(s->exact) << spec;
  return s->entry.map;
}

using harness::testing::lines_of;

// Code lines: what SystemTap parses (everything but `//` comment lines).
std::string code_only(const std::string& script) {
  std::string out;
  for (const auto& l : lines_of(script)) {
    const auto b = l.find_first_not_of(' ');
    if (b != std::string::npos && l.compare(b, 2, "//") == 0)
      continue;
    out += l + "\n";
  }
  return out;
}

// stap 4.8 checks for a kernel build tree before pass 1 even though parsing never reads it;
// this three-file skeleton satisfies that check. Pass 1 itself (the parse) is real.
std::string p1_tree() {
  const std::string tree = kWork + "/p1-tree";
  EXPECT_TRUE(make_dirs(tree + "/include/config"));
  EXPECT_TRUE(write_file_atomic(tree + "/.config", "# skeleton for stap -p1\n"));
  EXPECT_TRUE(write_file_atomic(tree + "/Module.symvers", ""));
  EXPECT_TRUE(write_file_atomic(tree + "/include/config/kernel.release", "6.1.192\n"));
  return tree;
}

Result<Captured> stap(std::vector<std::string> args) {
  ChildSpec spec;
  spec.exe = "stap";
  spec.args = std::move(args);
  spec.env = {{"SYSTEMTAP_DIR", kWork + "/systemtap"}};
  return run_captured(spec, std::chrono::seconds(120));
}

TEST(Generate, GoldenUbuntu313Status) {
  auto g = generate_script(shipped("3.13"), ProbeSet::status, std::nullopt);
  ASSERT_TRUE(g) << g.error().why;
  const std::string path = kGolden + "3.13.0-116-status.stp";
  if (const char* u = std::getenv("HARNESS_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    ASSERT_TRUE(write_file_atomic(path, g->text));
  }
  auto want = read_file(path);
  ASSERT_TRUE(want) << "missing golden file " << path
                    << " (HARNESS_UPDATE_GOLDEN=1 writes it; review the diff)";
  EXPECT_EQ(g->text, *want) << "generated script differs from " << path;
}

TEST(Generate, RecordsFollowTheTraceFormat) {
  auto g = generate_script(shipped("6.1"), ProbeSet::all, std::nullopt);
  ASSERT_TRUE(g);
  const std::string& s = g->text;
  EXPECT_THAT(s,
              HasSubstr("probe begin {\n  printf(\"HX1 READY %d plan=%s kernel=%s probes=%s\\n\", "
                        "gettimeofday_ns(), \"" +
                        g->plan.plan_id + "\", \"6.1.192\", \"all\")"));
  EXPECT_THAT(s, HasSubstr("printf(\"HX1 EV %d %d %d %d %s po=%s ph=%s head=%s len_sum=%s "
                           "tp_len=%s flags=%s pending=%s sq=%d\\n\", t, cpu(), pid(), tid(), "
                           "\"snd.len_sum\""));
  // Every record is numbered (probes/trace_format.hpp record_key::seq): once per probe, with its
  // hit counted, so the HITS add up to the last number (a gap is a lost record).
  EXPECT_THAT(s, HasSubstr("global hx_sq\n"));
  std::size_t probes = 0, numbered = 0;
  for (std::size_t at = 0; (at = s.find("\nprobe kernel.", at)) != std::string::npos; ++at)
    ++probes;
  for (std::size_t at = 0; (at = s.find("  hx_sq++\n", at)) != std::string::npos; ++at)
    ++numbered;
  EXPECT_EQ(numbered, probes);
  EXPECT_EQ(numbered, g->plan.anchors.size());
  EXPECT_THAT(
      s, HasSubstr("printf(\"HX1 HITS %s %d\\n\", \"snd.len_sum\", hx_hits[\"snd.len_sum\"])"));
  EXPECT_THAT(s, HasSubstr("printf(\"HX1 END %d\\n\", gettimeofday_ns())"));
  EXPECT_THAT(s, HasSubstr("probe kernel.function(\"tpacket_snd\") {"));
  EXPECT_THAT(s,
              HasSubstr("probe kernel.statement(\"tpacket_snd@net/packet/af_packet.c:2989\") ? {"));
  EXPECT_THAT(s, HasSubstr("try { f_po = sprintf(\"0x%x\", $po) } catch { f_po = \"?\" }"));
  EXPECT_EQ(s.find("@entry"), std::string::npos); // pitfall 4: no @entry in .return probes
  EXPECT_EQ(s.find(").return"), std::string::npos);
  // Every probed anchor prints its HITS line; every plan entry has a probe.
  for (const auto& p : g->plan.anchors) {
    EXPECT_THAT(s, HasSubstr("\"HX1 HITS %s %d\\n\", \"" + p.anchor + "\""));
    EXPECT_THAT(s, HasSubstr("probe " + p.probe_point + " {"));
  }
  // 22 af_packet.c anchors (the stand-ins too: a script made from a map alone probes both) + 2
  // kernel event anchors.
  EXPECT_EQ(g->plan.anchors.size(), 24u);
  EXPECT_TRUE(g->plan.absent.empty());
}

// The kernel event anchors (DESIGN.md "Kernel event anchors"): printed only for a task inside
// tpacket_snd, sched.sleep only for a real sleep, and their hits count printed records only.
TEST(Generate, KernelEventProbesOnlyInsideTpacketSnd) {
  auto g = generate_script(shipped("6.1"), ProbeSet::status, std::nullopt);
  ASSERT_TRUE(g) << g.error().why;
  const std::string& s = g->text;
  EXPECT_THAT(s, HasSubstr("global hx_in_snd\n"));
  EXPECT_THAT(s, HasSubstr("hx_hits[\"snd.start\"]++\n  hx_sq++\n  hx_in_snd[tid()] = 1\n"));
  EXPECT_THAT(s, HasSubstr("hx_hits[\"snd.return\"]++\n  hx_sq++\n  delete hx_in_snd[tid()]\n"));
  EXPECT_THAT(s, HasSubstr("probe kernel.function(\"sock_alloc_send_pskb\") ? {\n"
                           "  if (!(tid() in hx_in_snd))\n    next\n"
                           "  t = gettimeofday_ns()\n  hx_hits[\"alloc.enter\"]++\n"));
  EXPECT_THAT(s, HasSubstr("f_noblock = sprintf(\"%d\", $noblock)"));
  // sched.sleep through schedule()'s entry: a voluntary switch, state 0 (a yield) skipped.
  EXPECT_THAT(s, HasSubstr("probe kernel.function(\"schedule\") ? {\n"
                           "  if (!(tid() in hx_in_snd))\n    next\n"));
  const auto sleep = s.find("probe kernel.function(\"schedule\")");
  const auto zero = s.find("  hx_state = task_state(task_current())\n  if (hx_state == 0)\n"
                           "    next\n",
                           sleep);
  const auto hits = s.find("hx_hits[\"sched.sleep\"]++", sleep);
  ASSERT_NE(zero, std::string::npos);
  ASSERT_NE(hits, std::string::npos);
  EXPECT_LT(zero, hits);
  EXPECT_THAT(s, HasSubstr("printf(\"HX1 EV %d %d %d %d %s state=%s sq=%d\\n\", t, cpu(), pid(), "
                           "tid(), \"sched.sleep\", f_state, hx_sq)"));
  const PlannedProbe* alloc = g->plan.find("alloc.enter");
  ASSERT_NE(alloc, nullptr);
  EXPECT_EQ(alloc->function, "sock_alloc_send_pskb");
  EXPECT_EQ(alloc->line, 0);
  // Not in call-return; a plan with them survives its own parser.
  auto cr = generate_script(shipped("6.1"), ProbeSet::call_return, std::nullopt);
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->plan.find("sched.sleep"), nullptr);
  EXPECT_EQ(cr->text.find("hx_in_snd"), std::string::npos);
  auto back = plan_from_json(plan_to_json(g->plan), "test");
  ASSERT_TRUE(back) << back.error().why;
  EXPECT_EQ(back->find("sched.sleep")->function, "sched:sched_switch");
  // They can be left out like any probe.
  auto skip = generate_script(shipped("6.1"), ProbeSet::status, std::nullopt, {{"sched.sleep"}});
  ASSERT_TRUE(skip) << skip.error().why;
  EXPECT_EQ(skip->plan.find("sched.sleep"), nullptr);
  EXPECT_THAT(skip->plan.absent, ::testing::Contains("sched.sleep"));
}

TEST(Generate, QuotesTheSourceAboveEachProbe) {
  const std::string src = synth::synthetic_source(synth::eras().at("3.13"));
  auto map = locate(src, "3.13.0");
  ASSERT_TRUE(map);
  auto g = generate_script(*map, ProbeSet::status, src);
  ASSERT_TRUE(g) << g.error().why;
  const int line = map->anchor("snd.len_sum")->line;
  EXPECT_THAT(g->text, HasSubstr("//  " + std::to_string(line) +
                                 " >                 len_sum += tp_len; /*@snd.len_sum*/\n"
                                 "probe kernel.statement(\"tpacket_snd@net/packet/af_packet.c:" +
                                 std::to_string(line) + "\") ? {"));
  // A different source cannot be quoted as if it were the map's.
  auto wrong = generate_script(*map, ProbeSet::status, src + "\n");
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().why, HasSubstr("is not the map's"));
}

TEST(Generate, SkipLeavesProbesOut) {
  const LineMap m = shipped("6.1");
  auto g = generate_script(m, ProbeSet::status, std::nullopt, {{"snd.else_break", "snd.wait"}});
  ASSERT_TRUE(g) << g.error().why;
  EXPECT_EQ(g->plan.find("snd.else_break"), nullptr);
  EXPECT_EQ(g->plan.find("snd.wait"), nullptr);
  EXPECT_THAT(g->plan.absent, ::testing::ElementsAre("snd.wait", "snd.else_break"));
  EXPECT_EQ(g->text.find("af_packet.c:2992"), std::string::npos);
  EXPECT_EQ(g->text.find("\"snd.wait\""), std::string::npos);
  auto full = generate_script(m, ProbeSet::status, std::nullopt);
  EXPECT_NE(full->plan.plan_id, g->plan.plan_id);
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"snd.nope"}, {"snd.after_xmit"}, {"snd.start"}}) {
    auto r = generate_script(m, ProbeSet::status, std::nullopt, {bad});
    ASSERT_FALSE(r) << bad[0];
  }
  // An anchor this kernel does not have cannot be "left out" either.
  EXPECT_FALSE(
      generate_script(shipped("3.13"), ProbeSet::status, std::nullopt, {{"snd.else_break"}}));
}

// Nothing from a map file reaches the script as code.
TEST(Generate, HostileMapsCannotInjectCode) {
  const LineMap good = shipped("6.12");
  auto expect_rejected = [&](auto edit, const std::string& why) {
    LineMap m = good;
    edit(m);
    auto g = generate_script(m, ProbeSet::all, std::nullopt);
    ASSERT_FALSE(g) << why;
    EXPECT_THAT(g.error().why, HasSubstr(why));
  };
  expect_rejected(
      [](LineMap& m) { m.release = "6.1\", \"x\") } probe begin { system(\"id\") } //"; },
      "is not a kernel release");
  expect_rejected(
      [](LineMap& m) {
        m.functions[3].name = "tpacket_snd\") { system(\"id\") } probe kernel.function(\"x";
      },
      "is not a known name of tpacket_snd");
  expect_rejected(
      [](LineMap& m) { m.anchors[20].text = "x;\n} probe begin { system(\"id\") }\n//"; },
      "control characters");
  expect_rejected([](LineMap& m) { m.anchors[20].name = "snd.len_sum\"] = 1; system(\"id\"); //"; },
                  "is not a known anchor");
  expect_rejected([](LineMap& m) { m.anchors[20].line = -1; }, "out of range");
  expect_rejected([](LineMap& m) { m.source_sha1 = "\") system(\""; }, "expected 40");

  // Printable but hostile statement text, package and note stay inside comments.
  LineMap m = good;
  const std::string payload = "*/ } probe begin { system(\"id\") } /* %{ exit(); %}";
  for (auto& a : m.anchors)
    if (a.present())
      a.text = payload;
  m.package = payload;
  m.note = payload;
  auto g = generate_script(m, ProbeSet::all, std::nullopt);
  ASSERT_TRUE(g) << g.error().why;
  const std::string code = code_only(g->text);
  EXPECT_EQ(code.find("system"), std::string::npos) << code;
  EXPECT_EQ(code.find("%{"), std::string::npos);
  for (const auto& l : lines_of(g->text))
    if (l.find("system") != std::string::npos) {
      EXPECT_EQ(l.rfind("//", 0), 0u) << l;
    }
}

class StapParse : public ::testing::TestWithParam<std::tuple<std::string, ProbeSet>> {};

// Every shipped map x probe set passes SystemTap's real parser (pass 1).
TEST_P(StapParse, Pass1) {
  if (!find_program("stap"))
    GTEST_SKIP() << "stap is not installed (Debian package systemtap; scripts/install-deps)";
  const auto [spec, set] = GetParam();
  auto g = generate_script(shipped(spec), set, std::nullopt);
  ASSERT_TRUE(g) << g.error().why;
  const std::string path = kWork + "/p1-" + spec + "-" + std::string(to_string(set)) + ".stp";
  ASSERT_TRUE(make_dirs(kWork));
  ASSERT_TRUE(write_file_atomic(path, g->text));
  auto r = stap({"-p1", "-r", p1_tree(), path});
  ASSERT_TRUE(r) << r.error().why;
  EXPECT_TRUE(r->status.success()) << r->err;
  // The parse tree lists every probe of the plan.
  for (const auto& p : g->plan.anchors) {
    const std::string point = p.probe_point.substr(0, p.probe_point.find(')') + 1);
    EXPECT_THAT(r->out, HasSubstr(point)) << p.anchor;
  }
}

INSTANTIATE_TEST_SUITE_P(
    ShippedMaps, StapParse,
    ::testing::Combine(::testing::Values("3.13", "6.1", "6.12"),
                       ::testing::Values(ProbeSet::status, ProbeSet::call_return, ProbeSet::all)),
    [](const auto& param_info) {
      std::string n = std::get<0>(param_info.param) + "_" +
                      std::string(to_string(std::get<1>(param_info.param)));
      for (auto& c : n)
        if (c == '.' || c == '-')
          c = '_';
      return n;
    });

// Pass 2 against a real 6.1.192 build tree with af_packet.c at -O0 and full DWARF: every probe
// point resolves (the optional `?` is dropped here so a missing line fails) and every variable
// resolves (the @defined guards are dropped, except for `pending`, whose per-cpu branch must be
// the one elaborated).
// The -O0 test kernel's build tree: $HARNESS_TEST_KERNEL_BUILD (scripts/test-all sets it), else
// what `harness kernel ensure` prints: the cached tree ($HARNESS_CACHE, default
// /var/cache/harness), built there first when it is not cached yet. Empty when that failed.
std::string test_kernel_build() {
  if (const char* env = std::getenv("HARNESS_TEST_KERNEL_BUILD"); env && *env)
    return env;
  const char* cache = std::getenv("HARNESS_CACHE");
  auto r = run_captured(
      {.exe = std::string(HARNESS_BINARY_DIR) + "/bin/harness",
       .args = {"kernel", "ensure", "--cache", cache && *cache ? cache : "/var/cache/harness"}},
      std::chrono::hours(24));
  EXPECT_TRUE(r && r->status.code == 0) << (r ? r->err : r.error().why);
  if (!r || r->status.code != 0)
    return {};
  return r->out.substr(0, r->out.find('\n'));
}

TEST(StapResolve, Pass2OnDebian61Build) {
  if (!find_program("stap"))
    GTEST_SKIP() << "stap is not installed (scripts/install-deps --tests installs it)";
  const std::string build = test_kernel_build();
  ASSERT_FALSE(build.empty());
  auto release = read_file(build + "/include/config/kernel.release");
  ASSERT_TRUE(release) << "no kernel build tree at " << build;
  ASSERT_EQ(release->substr(0, release->find('\n')), "6.1.192")
      << build << ": the shipped map is 6.1.192";
  ASSERT_TRUE(make_dirs(kWork));
  for (ProbeSet set : {ProbeSet::status, ProbeSet::call_return}) {
    auto g = generate_script(shipped("6.1"), set, std::nullopt);
    ASSERT_TRUE(g);
    std::string strict;
    for (auto l : lines_of(g->text)) {
      const std::string optional_tail = ") ? {";
      if (l.rfind("probe kernel.", 0) == 0 && l.ends_with(optional_tail))
        l = l.substr(0, l.size() - optional_tail.size()) + ") {";
      const bool guarded =
          l.rfind("  if (@defined(", 0) == 0 || l.rfind("  else if (@defined(", 0) == 0;
      const auto body = l.find("{ try { "), end = l.find(" } catch {");
      if (guarded && body != std::string::npos && end != std::string::npos &&
          l.find("pending") == std::string::npos) {
        if (l.rfind("  else if", 0) == 0)
          continue; // the first expression must resolve
        l = "  " + l.substr(body + 8, end - body - 8);
      }
      strict += l + "\n";
    }
    const std::string path = kWork + "/p2-6.1-" + std::string(to_string(set)) + ".stp";
    ASSERT_TRUE(write_file_atomic(path, strict));
    auto r = stap({"-p2", "-r", build, path});
    ASSERT_TRUE(r) << r.error().why;
    EXPECT_TRUE(r->status.success()) << path << "\n" << r->err;
    if (strict.find("f_pending") != std::string::npos) {
      EXPECT_THAT(r->out, HasSubstr("__per_cpu_offset")) << "pending fell back to `?`";
    }
  }
}

} // namespace
} // namespace harness::stap
