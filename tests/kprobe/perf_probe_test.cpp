// kprobe definitions from perf probe: the pure parts, the retry logic with a runner that injects
// perf's failures, and the real perf against the real 6.1 -O0 test kernel
// (HARNESS_TEST_KERNEL_BUILD, set by scripts/test-all).
#include "base/files.hpp"
#include "kprobe/kprobe_for_tree.hpp"
#include "kprobe/perf_anchor.hpp"
#include "kprobe/perf_probe.hpp"
#include "probes/anchors.hpp"
#include "probes/trace_format.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <set>
#include <unistd.h>

namespace harness::kprobe {
namespace {

namespace fs = std::filesystem;

TEST(PerfProbe, FetchExpressions) {
  EXPECT_EQ(fetch_expressions("get_status.v2_return", "status").front(), "h.h2->tp_status");
  EXPECT_EQ(fetch_expressions("set_status.v2_break", "status").front(), "status");
  EXPECT_EQ(fetch_expressions("snd.len_sum", "head").front(), "po->tx_ring.head");
  EXPECT_EQ(fetch_expressions("snd.return", "wmem").size(), 2u);
  EXPECT_EQ(fetch_expressions("alloc.enter", "noblock").front(), "noblock");
}

// Every key at every anchor, as perf is asked for it (pinned from the spellings perf_probe.cpp
// had before probes/field_sources.hpp held them): the key's own unless an anchor reads it
// elsewhere.
TEST(PerfProbe, FetchExpressionsOfEveryKeyAndAnchor) {
  const std::map<std::string_view, std::vector<std::string>> general = {
      {"po", {"po"}},
      {"frame", {"frame"}},
      {"ph", {"ph"}},
      {"status", {"status"}},
      {"head", {"po->tx_ring.head"}},
      {"frame_max", {"po->tx_ring.frame_max"}},
      {"frame_size", {"po->tx_ring.frame_size"}},
      {"frames_per_block", {"po->tx_ring.frames_per_block"}},
      {"version", {"po->tp_version"}},
      {"flags", {"msg->msg_flags"}},
      {"pending", {"po->tx_ring.pending.counter"}},
      {"err", {"err"}},
      {"len_sum", {"len_sum"}},
      {"tp_len", {"tp_len"}},
      {"ts", {"ts"}},
      {"sndbuf", {"po->sk.sk_sndbuf"}},
      {"wmem", {"po->sk.sk_wmem_alloc.refs.counter", "po->sk.sk_wmem_alloc.counter"}},
      {"noblock", {"noblock"}},
      {"state", {"state"}},
      {"timeo", {"timeo"}},
      {"skb", {"skb"}},
  };
  const std::map<std::pair<std::string_view, std::string_view>, std::vector<std::string>> own = {
      {{"get_status.v1_return", "status"}, {"h.h1->tp_status"}},
      {{"get_status.v2_return", "status"}, {"h.h2->tp_status"}},
      {{"get_status.v3_return", "status"}, {"h.h3->tp_status"}},
      {{"destruct.pending_dec", "po"}, {"po", "tu->po"}},
      {{"destruct.pending_dec", "ph"}, {"ph", "tu->ph"}},
      {{"destruct.set_available", "po"}, {"po", "tu->po"}},
      {{"destruct.set_available", "ph"}, {"ph", "tu->ph"}},
      {{"destruct.after_available", "po"}, {"po", "tu->po"}},
      {{"destruct.after_available", "ph"}, {"ph", "tu->ph"}},
  };
  ASSERT_EQ(general.size(), probes::trace::all_keys.size());
  for (const auto& a : probes::anchor_table)
    for (auto key : probes::trace::all_keys) {
      const auto it = own.find({a.name, key});
      EXPECT_EQ(fetch_expressions(a.name, key), it != own.end() ? it->second : general.at(key))
          << a.name << " " << key;
    }
}

TEST(PerfProbe, Spec) {
  EXPECT_EQ(
      perf_spec("snd_len_sum", "tpacket_snd", 192, {{"ph", "ph"}, {"head", "po->tx_ring.head"}}),
      "snd_len_sum=tpacket_snd:192 ph=ph head=po->tx_ring.head");
  EXPECT_EQ(perf_spec("alloc_enter", "sock_alloc_send_pskb", -1, {{"noblock", "noblock"}}),
            "alloc_enter=sock_alloc_send_pskb noblock=noblock");
}

TEST(PerfProbe, EveryCopyOfAnEvent) {
  auto e =
      events_from_perf_output("p:probe/set_status_v2_break __packet_set_status+80 status=%si:s32\n"
                              "p:probe/set_status_v2_break_1 packet_sendmsg+1200 status=%r12:s32\n",
                              "set_status.v2_break", "set_status_v2_break");
  ASSERT_TRUE(e) << e.error().why;
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[1].event, "set_status_v2_break_1");
  EXPECT_EQ((*e)[1].probe, "packet_sendmsg+1200");
  EXPECT_FALSE(events_from_perf_output("p:probe/other x+1\n", "snd.len_sum", "snd_len_sum"));
  EXPECT_FALSE(events_from_perf_output("", "snd.len_sum", "snd_len_sum"));
}

// Fault injection: a perf that cannot locate `pending` anywhere and cannot place snd.wait.
TEST(PerfProbe, UnfetchableKeysAndDroppedAnchors) {
  probes::LineMap map;
  map.release = "6.1.192";
  map.source_sha1 = std::string(40, 'a');
  map.functions = {{"tpacket_snd", "tpacket_snd", 100, 300}};
  probes::ProbePlan plan;
  plan.plan_id = "0123456789abcdef";
  plan.kernel = "6.1.192";
  probes::PlannedProbe len_sum{"snd.len_sum", "tpacket_snd",    292, "len_sum += tp_len;", "",
                               true,          {"ph", "pending"}};
  probes::PlannedProbe wait{"snd.wait", "tpacket_snd", 180, "x", "", true, {"po"}};
  plan.anchors = {len_sum, wait};
  KprobeBuildRequest req;
  req.vmlinux = "/nonexistent/vmlinux";
  req.map = map;
  req.plan = plan;
  req.out_dir = testing::TempDir() + "/perf-probe-" + std::to_string(::getpid());
  req.use_cache = false;
  std::vector<std::string> specs;
  std::mutex m; // the anchors are placed on several threads at once
  req.runner = [&](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
    const std::string spec = argv.back();
    std::lock_guard lock(m);
    specs.push_back(spec);
    if (spec.find("pending") != std::string::npos || spec.starts_with("snd_wait="))
      return PerfAttempt{false, "", "Failed to find the location of the 'pending' variable"};
    std::string out = "p:probe/" + spec.substr(0, spec.find('=')) + " tpacket_snd+2340";
    if (spec.find(" ph=ph") != std::string::npos)
      out += " ph=+96(%sp):x64";
    return PerfAttempt{true, out + "\n", ""};
  };
  auto res = build_kprobe_defs(req);
  ASSERT_TRUE(res) << res.error().why;
  // The anchor's first call asks every field.
  EXPECT_EQ(*std::find_if(specs.begin(), specs.end(),
                          [](const std::string& x) { return x.starts_with("snd_len_sum="); }),
            "snd_len_sum=tpacket_snd:192 ph=ph pending=po->tx_ring.pending.counter");
  ASSERT_EQ(res->defs.events.size(), 1u);
  EXPECT_EQ(res->defs.events[0].args, std::vector<std::string>{"ph=+96(%sp):x64"});
  ASSERT_EQ(res->defs.unfetchable.size(), 1u);
  EXPECT_EQ(res->defs.unfetchable[0].key, "pending");
  EXPECT_EQ(res->defs.dropped, std::vector<std::string>{"snd.wait"});
  ASSERT_EQ(res->plan.anchors.size(), 1u);
  EXPECT_EQ(res->plan.anchors[0].unreadable, std::vector<std::string>{"pending"});
  EXPECT_EQ(res->plan.anchors[0].probe_point, "tpacket_snd:192");
  EXPECT_EQ(res->plan.absent.back(), "snd.wait");
  EXPECT_TRUE(fs::exists(res->defs_path));
  EXPECT_TRUE(fs::exists(res->plan_path));
  fs::remove_all(req.out_dir);
}

// A stand-in (destruct.after_available) is not probed where the status store's own anchor is
// placed with its fields (an -O0 kernel); where it is not (-O2 inlines __packet_set_status), the
// stand-in takes the first line after its own that perf can place, never past the function.
struct StandInCase {
  probes::LineMap map;
  probes::ProbePlan plan;
  KprobeBuildRequest req;
  std::vector<std::string> specs;
  std::mutex m; // the anchors are placed on several threads at once

  explicit StandInCase(bool store_placeable, int placeable_from, int jobs = 0) {
    req.jobs = jobs;
    map.release = "6.1.192";
    map.source_sha1 = std::string(40, 'a');
    map.functions = {{"__packet_set_status", "__packet_set_status", 10, 40},
                     {"tpacket_destruct_skb", "tpacket_destruct_skb", 100, 113}};
    plan.plan_id = "0123456789abcdef";
    plan.kernel = "6.1.192";
    plan.anchors = {
        {"set_status.v2_break", "__packet_set_status", 30, "break;", "", true, {"frame", "status"}},
        {"destruct.set_available",
         "tpacket_destruct_skb",
         106,
         "__packet_set_status(po, ph, TP_STATUS_AVAILABLE | ts);",
         "",
         true,
         {"ph"}},
        {"destruct.after_available",
         "tpacket_destruct_skb",
         108,
         "packet_dec_pending(&po->tx_ring);",
         "",
         true,
         {"ph", "skb"}}};
    req.vmlinux = "/nonexistent/vmlinux";
    req.map = map;
    req.plan = plan;
    req.out_dir = testing::TempDir() + "/perf-stand-in-" + std::to_string(::getpid());
    req.use_cache = false;
    req.runner = [this, store_placeable,
                  placeable_from](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
      const std::string spec = argv.back();
      {
        std::lock_guard lock(m);
        specs.push_back(spec);
      }
      if (argv[argv.size() - 2] == "-L") // no listing: every line is tried
        return PerfAttempt{false, "", "Failed to find " + spec};
      const std::string event = spec.substr(0, spec.find('='));
      const int rel = std::stoi(spec.substr(spec.find(':') + 1));
      if (event == "set_status_v2_break" && !store_placeable)
        return PerfAttempt{false, "", "This line is sharing the address with other lines."};
      if (event == "destruct_after_available" && rel < placeable_from)
        return PerfAttempt{false, "", "No line 2608 found in net/packet/af_packet.c."};
      const std::string fn = spec.substr(spec.find('=') + 1, spec.find(':') - spec.find('=') - 1);
      return PerfAttempt{true, "p:probe/" + event + " " + fn + "+42 skb=%bp:x64\n", ""};
    };
  }
  ~StandInCase() { fs::remove_all(req.out_dir); }
  std::vector<std::string> stand_in_specs() const {
    std::vector<std::string> out;
    for (const auto& s : specs)
      if (s.starts_with("destruct_after_available="))
        out.push_back(s);
    return out;
  }
};

TEST(PerfProbe, AStandInIsNotProbedWhereTheStoreItselfIs) {
  StandInCase c(true, 0);
  auto res = build_kprobe_defs(c.req);
  ASSERT_TRUE(res) << res.error().why;
  EXPECT_TRUE(c.stand_in_specs().empty());
  ASSERT_EQ(res->plan.anchors.size(), 2u);
  EXPECT_EQ(res->plan.anchors[0].anchor, "set_status.v2_break");
  EXPECT_EQ(res->plan.anchors[1].anchor, "destruct.set_available");
  EXPECT_EQ(res->plan.absent, std::vector<std::string>{"destruct.after_available"});
  EXPECT_TRUE(res->defs.dropped.empty()) << "left out, not unplaceable";
}

TEST(PerfProbe, AStandInMovesToTheFirstLaterLinePerfCanPlace) {
  StandInCase c(false, 12);
  auto res = build_kprobe_defs(c.req);
  ASSERT_TRUE(res) << res.error().why;
  EXPECT_EQ(
      c.stand_in_specs(),
      (std::vector<std::string>{"destruct_after_available=tpacket_destruct_skb:8",
                                "destruct_after_available=tpacket_destruct_skb:9",
                                "destruct_after_available=tpacket_destruct_skb:10",
                                "destruct_after_available=tpacket_destruct_skb:11",
                                "destruct_after_available=tpacket_destruct_skb:12",
                                "destruct_after_available=tpacket_destruct_skb:12 ph=ph skb=skb"}));
  const probes::PlannedProbe* stand_in = res->plan.find("destruct.after_available");
  ASSERT_NE(stand_in, nullptr);
  EXPECT_EQ(stand_in->probe_point, "tpacket_destruct_skb:12");
  EXPECT_EQ(res->defs.dropped, std::vector<std::string>{"set_status.v2_break"});
  // A line perf refuses ("sharing the address with other lines") costs one call, not one per
  // field: the first try's complaint is about the line itself.
  EXPECT_EQ(
      std::count_if(c.specs.begin(), c.specs.end(),
                    [](const std::string& s) { return s.starts_with("set_status_v2_break="); }),
      1);
  EXPECT_EQ(std::count(c.specs.begin(), c.specs.end(), "__packet_set_status:20"), 0) << "no -V";
}

TEST(PerfProbe, AStandInNeverMovesPastItsFunction) {
  StandInCase c(false, 99);
  auto res = build_kprobe_defs(c.req);
  ASSERT_TRUE(res) << res.error().why;
  const auto tried = c.stand_in_specs();
  ASSERT_FALSE(tried.empty());
  EXPECT_EQ(tried.back(), "destruct_after_available=tpacket_destruct_skb:12")
      << "line 112, the last before the closing brace at 113";
  EXPECT_EQ(res->defs.dropped,
            (std::vector<std::string>{"set_status.v2_break", "destruct.after_available"}));
}

// One perf process per CPU (issue 28: the definitions' time): the same definitions and plan as
// one process, in plan order, whatever order the calls finish in.
TEST(PerfProbe, ParallelPerfCallsGiveWhatOneProcessGives) {
  for (const auto& [store_placeable, placeable_from] : {std::pair{true, 0}, std::pair{false, 12}}) {
    StandInCase one(store_placeable, placeable_from, 1);
    StandInCase many(store_placeable, placeable_from, 3);
    auto a = build_kprobe_defs(one.req);
    auto b = build_kprobe_defs(many.req);
    ASSERT_TRUE(a) << a.error().why;
    ASSERT_TRUE(b) << b.error().why;
    EXPECT_EQ(defs_to_json(a->defs), defs_to_json(b->defs));
    EXPECT_EQ(probes::plan_to_json(a->plan), probes::plan_to_json(b->plan));
    EXPECT_EQ(one.specs.size(), many.specs.size()) << "the same perf calls";
  }
}

// A perf that cannot be run fails the build with its error, whichever anchor met it first.
TEST(PerfProbe, AFailedPerfCallFailsTheBuildOnAnyThread) {
  StandInCase c(true, 0, 3);
  c.req.runner = [](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
    if (argv.back().starts_with("destruct_set_available="))
      return fail(Exit::tool_missing, "perf", "No such file or directory");
    const std::string& spec = argv.back();
    return PerfAttempt{true, "p:probe/" + spec.substr(0, spec.find('=')) + " tpacket_snd+42\n", ""};
  };
  auto res = build_kprobe_defs(c.req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Exit::tool_missing);
  EXPECT_FALSE(fs::exists(c.req.out_dir + "/" + c.req.name + ".kprobes"));
}

// `perf probe -V` as perf 6.1 prints it for the -O2 test kernel (tpacket_snd:80, ph_check's
// line, where `po` has no location and `ph` an unknown type), and with two addresses: a variable
// counts only where every address has it.
TEST(PerfProbe, VisibleVariablesAreWhatEveryAddressLists) {
  const std::string one = "Available variables at tpacket_snd:80\n"
                          "\t@<packet_sendmsg+448>\n"
                          "\t\t(unknown_type)\tph\n"
                          "\t\tbool\thas_vnet_hdr\n"
                          "\t\tint\tlen_sum\n"
                          "\t\tstruct sk_buff*\tskb\n"
                          "\t\tstruct virtio_net_hdr\tvnet_hdr\n";
  EXPECT_EQ(detail::visible_variables(one),
            (std::set<std::string>{"ph", "has_vnet_hdr", "len_sum", "skb", "vnet_hdr"}))
      << "perf reads `ph` there (-D gives ph=%ax), though its type is unknown";
  const std::string two = "Available variables at f:3\n\t@<f+10>\n\t\tint\ta\n\t\tint\tb\n"
                          "\t@<g+20>\n\t\tint\tb\n";
  EXPECT_EQ(detail::visible_variables(two), (std::set<std::string>{"b"}));
  EXPECT_EQ(detail::visible_variables("Available variables at f:3\n\t@<f+10>\n"
                                      "\t\t(No matched variables)\n"),
            std::set<std::string>{});
  EXPECT_EQ(detail::visible_variables("This line is sharing the address with other lines.\n"
                                      "  Error: Failed to show vars.\n"),
            std::nullopt);
  // `perf probe -L __packet_set_status` on the -O2 test kernel: only the stores have addresses.
  EXPECT_EQ(detail::placeable_lines(
                "<__packet_set_status@/c/sources/linux-source-6.1/net/packet/af_packet.c:0>\n"
                "         static void __packet_set_status(struct packet_sock *po, void *frame, "
                "int status)\n"
                "         {\n"
                "         \tcase TPACKET_V1:\n"
                "      9  \t\tWRITE_ONCE(h.h1->tp_status, status);\n"
                "         \t\tbreak;\n"
                "     13  \t\tWRITE_ONCE(h.h2->tp_status, status);\n"),
            (std::set<int>{9, 13}));
  EXPECT_EQ(detail::placeable_lines("Specified source line is not found.\n"), std::nullopt);
  EXPECT_EQ(detail::base_variable("po->tx_ring.pending.counter"), "po");
  EXPECT_EQ(detail::base_variable("tu->ph"), "tu");
  EXPECT_EQ(detail::base_variable("skb"), "skb");
}

// At -O2 (variables without a location at the line), a failed first try asks perf once which
// variables it sees there, and no spelling of an unlisted one costs a call (issue 28: the
// definitions' time). `po`-based fields all go with `po`.
TEST(PerfProbe, FieldsOfVariablesPerfDoesNotSeeCostNoCalls) {
  KprobeBuildRequest req;
  req.vmlinux = "/nonexistent/vmlinux";
  req.map.release = "6.1.192";
  req.map.source_sha1 = std::string(40, 'a');
  req.map.functions = {{"tpacket_snd", "tpacket_snd", 100, 300}};
  req.plan.plan_id = "0123456789abcdef";
  req.plan.kernel = "6.1.192";
  req.plan.anchors = {{"snd.len_sum",
                       "tpacket_snd",
                       292,
                       "len_sum += tp_len;",
                       "",
                       true,
                       {"po", "ph", "head", "len_sum", "pending"}}};
  req.out_dir = testing::TempDir() + "/perf-visible-" + std::to_string(::getpid());
  req.use_cache = false;
  std::vector<std::string> calls;
  req.runner = [&](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
    calls.push_back(argv[argv.size() - 2] + " " + argv.back());
    if (argv[argv.size() - 2] == "-L")
      return PerfAttempt{false,
                         "<tpacket_snd@/src/net/packet/af_packet.c:0>\n"
                         "         static int tpacket_snd(struct packet_sock *po, ...)\n"
                         "    192  \t\tlen_sum += tp_len;\n",
                         ""};
    if (argv[argv.size() - 2] == "-V")
      return PerfAttempt{false,
                         "Available variables at tpacket_snd:192\n\t@<packet_sendmsg+3176>\n"
                         "\t\tint\tlen_sum\n\t\tstruct sk_buff*\tskb\n",
                         ""};
    for (const char* unseen : {"=po", "=ph"})
      if (argv.back().find(unseen) != std::string::npos)
        return PerfAttempt{false, "", "Failed to find the location of the 'po' variable"};
    return PerfAttempt{true, "p:probe/snd_len_sum tpacket_snd+2340 len_sum=%ax:s32\n", ""};
  };
  auto res = build_kprobe_defs(req);
  ASSERT_TRUE(res) << res.error().why;
  EXPECT_EQ(calls, (std::vector<std::string>{
                       "-L tpacket_snd",
                       "-D snd_len_sum=tpacket_snd:192 po=po ph=ph head=po->tx_ring.head "
                       "len_sum=len_sum pending=po->tx_ring.pending.counter",
                       "-V tpacket_snd:192", "-D snd_len_sum=tpacket_snd:192 len_sum=len_sum"}));
  ASSERT_EQ(res->plan.anchors.size(), 1u);
  EXPECT_EQ(res->plan.anchors[0].unreadable,
            (std::vector<std::string>{"po", "ph", "head", "pending"}));
  fs::remove_all(req.out_dir);
}

// `perf probe -L FUNC` numbers the lines with an address: one call per function, and an anchor
// whose line it does not number costs no call (the -O2 status stores' `break;` lines), nor does
// a later line it skips.
TEST(PerfProbe, LinesPerfDoesNotListCostNoCalls) {
  StandInCase c(false, 0, 1);
  c.req.runner = [&](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
    const std::string& spec = argv.back();
    c.specs.push_back(argv[argv.size() - 2] + " " + spec);
    if (argv[argv.size() - 2] == "-L")
      return PerfAttempt{false,
                         "<" + spec + "@/src/net/packet/af_packet.c:0>\n" +
                             (spec == "tpacket_destruct_skb" ? "      6  a;\n     10  b;\n"
                                                             : "     19  WRITE_ONCE(x, y);\n"),
                         ""};
    const std::string event = spec.substr(0, spec.find('='));
    return PerfAttempt{true, "p:probe/" + event + " f+42 skb=%bp:x64\n", ""};
  };
  auto res = build_kprobe_defs(c.req);
  ASSERT_TRUE(res) << res.error().why;
  EXPECT_EQ(c.specs, (std::vector<std::string>{
                         "-L __packet_set_status", "-L tpacket_destruct_skb",
                         "-D destruct_set_available=tpacket_destruct_skb:6 ph=ph",
                         "-D destruct_after_available=tpacket_destruct_skb:10",
                         "-D destruct_after_available=tpacket_destruct_skb:10 ph=ph skb=skb"}))
      << "set_status.v2_break (line 20 unlisted): no call; the stand-in tries 10, not 8 and 9";
  EXPECT_EQ(res->defs.dropped, std::vector<std::string>{"set_status.v2_break"});
  const probes::PlannedProbe* stand_in = res->plan.find("destruct.after_available");
  ASSERT_NE(stand_in, nullptr);
  EXPECT_EQ(stand_in->probe_point, "tpacket_destruct_skb:10");
}

// The two outputs are checked before perf runs: a symlink (or a FIFO) at NAME.plan.json used to be
// refused only after NAME.kprobes was written, leaving definitions without their plan.
TEST(PerfProbe, RefusedOutputsAreFoundBeforePerfRunsAndNothingIsHalfWritten) {
  KprobeBuildRequest req;
  req.vmlinux = "/nonexistent/vmlinux";
  req.map.release = "6.1.192";
  req.map.source_sha1 = std::string(40, 'a');
  req.map.functions = {{"tpacket_snd", "tpacket_snd", 100, 300}};
  req.plan.plan_id = "0123456789abcdef";
  req.plan.kernel = "6.1.192";
  req.plan.anchors = {{"snd.len_sum", "tpacket_snd", 292, "len_sum += tp_len;", "", true, {"ph"}}};
  req.out_dir = testing::TempDir() + "/perf-out-" + std::to_string(::getpid());
  req.use_cache = false;
  fs::create_directories(req.out_dir);
  const std::string victim = req.out_dir + "/victim";
  std::FILE* f = std::fopen(victim.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("precious\n", f);
  std::fclose(f);
  fs::create_symlink(victim, req.out_dir + "/" + req.name + ".plan.json");
  int perf_calls = 0;
  req.runner = [&](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
    ++perf_calls;
    return PerfAttempt{
        true, "p:probe/" + argv.back().substr(0, argv.back().find('=')) + " tpacket_snd+2340\n",
        ""};
  };
  auto res = build_kprobe_defs(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Exit::usage) << res.error().why;
  EXPECT_EQ(perf_calls, 0);
  EXPECT_FALSE(fs::exists(req.out_dir + "/" + req.name + ".kprobes"))
      << "definitions without a plan";
  EXPECT_EQ(fs::file_size(victim), 9u);
  fs::remove_all(req.out_dir);
}

// A tree without its sources finds af_packet.c by build id in the cache the request names
// (`--cache DIR`), not in $HARNESS_CACHE or /var/cache/harness: the request's cache used to stop
// at the definitions' own cache. perf is replaced by fixed output here; its real run is below.
TEST(PerfProbe, ATreeWithoutSourcesFindsItsFileInTheRequestsCache) {
  auto text = read_file(std::string(HARNESS_BINARY_DIR) +
                        "/tests/kernel-sources/linux-source-6.1/net/packet/af_packet.c");
  if (!text)
    GTEST_SKIP() << "the extracted linux-source-6.1 af_packet.c is not built";
  const std::string dir = testing::TempDir() + "/perf-cache-" + std::to_string(::getpid());
  kernel::KernelTree tree;
  tree.build_dir = tree.source_dir = dir + "/tree";
  tree.release = "6.1.192";
  tree.build_id = "0123456789abcdef0123456789abcdef01234567";
  const std::string kept = dir + "/cache/by-build-id/" + tree.build_id;
  ASSERT_TRUE(make_dirs(kept));
  ASSERT_TRUE(write_file_atomic(kept + "/af_packet.c", *text));
  ASSERT_TRUE(write_file_atomic(kept + "/origin.txt", "debuginfod (test)\n"));
  KprobeTreeRequest req;
  req.tree = tree;
  req.out_dir = dir + "/out";
  req.cache_dir = dir + "/cache";
  req.use_cache = false;
  req.runner = [](const std::vector<std::string>& argv) -> Result<PerfAttempt> {
    return PerfAttempt{
        true, "p:probe/" + argv.back().substr(0, argv.back().find('=')) + " tpacket_snd+2340\n",
        ""};
  };
  auto res = kprobe_defs_for_tree(req);
  ASSERT_TRUE(res) << res.error().why << "\n" << res.error().hint;
  EXPECT_NE(res->map_provenance.find("the harness cache"), std::string::npos)
      << "provenance: " << res->map_provenance;
  EXPECT_NE(res->map_provenance.find("debuginfod (test)"), std::string::npos)
      << res->map_provenance;
  fs::remove_all(dir);
}

// The real thing: perf 6.1 reads the DWARF of the 6.1.192 test kernel built with af_packet.c at
// -O0 and places every status probe; the only key it cannot fetch is the per-cpu pending count.
TEST(PerfProbe, RealPerfOnTheTestKernel) {
  const char* build = std::getenv("HARNESS_TEST_KERNEL_BUILD");
  if (!build || !*build)
    GTEST_SKIP() << "HARNESS_TEST_KERNEL_BUILD is not set (scripts/test-all sets it)";
  kprobe::KprobeTreeRequest req;
  req.kernel_build = build;
  req.out_dir = testing::TempDir() + "/perf-real-" + std::to_string(::getpid());
  req.use_cache = false;
  auto res = kprobe::kprobe_defs_for_tree(req);
  ASSERT_TRUE(res) << res.error().why << "\n" << res.error().hint;
  const auto& defs = res->built.defs;
  EXPECT_TRUE(defs.dropped.empty()) << defs.dropped.front();
  for (const char* anchor :
       {"snd.start", "snd.ph_check", "snd.len_sum", "snd.return", "set_status.v2_break",
        "get_status.v2_return", "destruct.set_available", "alloc.enter"}) {
    bool found = false;
    for (const auto& e : defs.events)
      found = found || e.anchor == anchor;
    EXPECT_TRUE(found) << anchor;
  }
  for (const auto& u : defs.unfetchable)
    EXPECT_EQ(u.key, "pending") << u.anchor;
  fs::remove_all(req.out_dir);
}

} // namespace
} // namespace harness::kprobe
