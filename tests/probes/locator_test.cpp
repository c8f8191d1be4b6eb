#include "base/sha1.hpp"
#include "kernel_sources.hpp"
#include "probes/anchors.hpp"
#include "probes/drift.hpp"
#include "probes/locator.hpp"
#include "probes/map_store.hpp"
#include "synthetic_sources.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <iostream>

namespace harness::probes {
namespace {

using ::testing::HasSubstr;
using namespace harness::probes::synth;

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos)
    s.replace(pos, from.size(), to);
  return s;
}

std::vector<std::string> problem_messages(const LocateReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems)
    out.push_back(p.message);
  return out;
}

class LocatorEra : public ::testing::TestWithParam<std::string> {};

// Each era's synthetic source: every anchor on its marked line, the others absent, no problem.
TEST_P(LocatorEra, PlacesEveryAnchorOrReportsItAbsent) {
  const Era era = eras().at(GetParam());
  const std::string src = synthetic_source(era);
  const auto expected = expected_lines(src);
  const auto report = locate_all(src, "1.0");
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(problem_messages(report));
  ASSERT_EQ(report.map.anchors.size(), anchors().size());
  for (const auto& loc : report.map.anchors) {
    const auto it = expected.find(loc.name);
    EXPECT_EQ(loc.line, it == expected.end() ? 0 : it->second) << GetParam() << " " << loc.name;
    if (loc.line == 0) {
      EXPECT_TRUE(find_anchor(loc.name)->optional) << loc.name;
    }
  }
  EXPECT_EQ(report.map.source_sha1, sha1_hex(src));
  EXPECT_EQ(report.map.functions.size(), 4u);
  EXPECT_EQ(report.map.function("tpacket_destruct_skb")->name,
            era.ubuf_complete ? "tpacket_ubuf_complete" : "tpacket_destruct_skb");
}

INSTANTIATE_TEST_SUITE_P(Eras, LocatorEra,
                         ::testing::Values("3.0", "3.13", "3.18", "3.18msm", "4.9msm", "4.14",
                                           "4.19vendor", "5.10", "6.1.158", "6.12.117",
                                           "6.12annotated", "6.16braces"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& c : n)
                             if (c == '.')
                               c = '_';
                           return "v" + n;
                         });

TEST(Locator, AbsentAnchorsPerEra) {
  auto absent = [](const std::string& era) {
    std::vector<std::string> out;
    for (const auto& a : locate_all(synthetic_source(eras().at(era)), "1").map.anchors)
      if (!a.present())
        out.push_back(a.name);
    return out;
  };
  const std::vector<std::string> v3_and_else = {"set_status.v3_break", "get_status.v3_return",
                                                "snd.else_break"};
  EXPECT_EQ(absent("3.0"), v3_and_else);
  EXPECT_EQ(absent("3.13"), v3_and_else);
  EXPECT_EQ(absent("3.18msm"), v3_and_else);
  // 4.9.y got the 5.3 completion wait but never the 4.11 V3 TX ring.
  EXPECT_EQ(absent("4.9msm"), v3_and_else);
  EXPECT_EQ(absent("4.14"), std::vector<std::string>{"snd.else_break"});
  EXPECT_EQ(absent("4.19vendor"), std::vector<std::string>{"snd.else_break"});
  EXPECT_TRUE(absent("6.12.117").empty());
  EXPECT_TRUE(absent("6.16braces").empty());
}

// The line after the destructor's AVAILABLE store shows the store made only when nothing guards
// the store (the bug zoo's destructor-no-available guards it with `if (!ph)`): then it is absent,
// not a problem, and the store's own line is still found.
TEST(Locator, TheLineAfterAGuardedAvailableStoreIsAbsent) {
  const std::string src = synthetic_source(eras().at("6.12.117"));
  const auto plain = locate_all(src, "1");
  EXPECT_EQ(plain.map.anchor("destruct.after_available")->line,
            plain.map.anchor("destruct.pending_dec")->line);
  const auto guarded =
      locate_all(replace_once(src, "\t__packet_set_status(po, ph, TP_STATUS_AVAILABLE | ts);",
                              "\tif (!ph) __packet_set_status(po, ph, TP_STATUS_AVAILABLE | ts);"),
                 "1");
  EXPECT_TRUE(guarded.ok()) << ::testing::PrintToString(problem_messages(guarded));
  EXPECT_FALSE(guarded.map.anchor("destruct.after_available")->present());
  EXPECT_TRUE(guarded.map.anchor("destruct.set_available")->present());
}

TEST(Locator, MissingAnchorNamesFunctionAndLines) {
  const std::string src =
      replace_once(synthetic_source(eras().at("3.13")), "len_sum += tp_len;", "len_sum++;");
  const auto report = locate_all(src, "1");
  const auto* fn = report.map.function("tpacket_snd");
  ASSERT_NE(fn, nullptr);
  ASSERT_EQ(report.problems.size(), 3u) << ::testing::PrintToString(problem_messages(report));
  // len_sum itself, and the two anchors bounded by it.
  EXPECT_EQ(report.problems[0].anchor, "snd.already_destructed");
  const std::string want = "anchor snd.len_sum: 0 matches in tpacket_snd (lines " +
                           std::to_string(fn->start) + "-" + std::to_string(fn->end) +
                           ") for `len_sum += tp_len;`";
  EXPECT_THAT(problem_messages(report), ::testing::Contains(want));
  EXPECT_FALSE(report.map.anchor("snd.len_sum")->present());

  auto strict = locate(src, "1");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, Exit::no_map);
  EXPECT_THAT(strict.error().why, HasSubstr("3 problems:"));
  EXPECT_THAT(strict.error().why, HasSubstr(want));
}

TEST(Locator, DuplicatedAnchorNamesBothLines) {
  std::string src = synthetic_source(eras().at("3.13"));
  src = replace_once(src, "len_sum += tp_len; /*@snd.len_sum*/",
                     "len_sum += tp_len;\n\t\tlen_sum += tp_len;");
  const auto report = locate_all(src, "1");
  const auto lines = expected_lines(synthetic_source(eras().at("3.13")));
  const int first = lines.at("snd.len_sum");
  EXPECT_THAT(problem_messages(report),
              ::testing::Contains(::testing::AllOf(
                  HasSubstr("anchor snd.len_sum: 2 matches in tpacket_snd (lines "),
                  HasSubstr(", at " + std::to_string(first) + " and " + std::to_string(first + 1) +
                            ", for `len_sum += tp_len;`"))));
}

TEST(Locator, V3ArmWithoutBreakIsAnErrorNotAbsent) {
  Era era = eras().at("4.14");
  std::string src = synthetic_source(era);
  src = replace_once(src, "flush(h.h3);\n\t\tbreak; /*@set_status.v3_break*/", "flush(h.h3);");
  const auto report = locate_all(src, "1");
  EXPECT_THAT(problem_messages(report),
              ::testing::Contains(HasSubstr("anchor set_status.v3_break: 0 matches")));
}

TEST(Locator, ElseWithoutBreakIsAnErrorNotAbsent) {
  std::string src = synthetic_source(eras().at("6.12.117"));
  src = replace_once(src, "} else\n\t\t\t\tbreak;", "} else\n\t\t\t\treturn 0;");
  const auto report = locate_all(src, "1");
  EXPECT_THAT(problem_messages(report),
              ::testing::Contains(HasSubstr("anchor snd.else_break: 0 matches")));
}

// `else { break; }` (the brace style checkpatch asks for) is the same exit as `else break;`: the
// anchor lands on the same statement after the loop in both spellings.
TEST(Locator, ElseBreakWithBracesIsTheSameExit) {
  const std::string plain = synthetic_source(eras().at("6.12.117"));
  const std::string braces = synthetic_source(eras().at("6.16braces"));
  ASSERT_NE(plain, braces);
  const auto a = locate_all(plain, "1");
  const auto b = locate_all(braces, "1");
  ASSERT_TRUE(a.ok() && b.ok()) << ::testing::PrintToString(problem_messages(b));
  EXPECT_THAT(b.map.anchor("snd.else_break")->text, ::testing::StartsWith("err = len_sum;"));
  EXPECT_EQ(b.map.anchor("snd.else_break")->line, a.map.anchor("snd.else_break")->line + 1);
}

// Annotations between the parameter list and the body (sparse's `__must_hold(...)`, attributes)
// do not hide a definition; a prototype carrying them is still not one.
TEST(Locator, AnnotatedDefinitionIsStillTheFunction) {
  std::string src = synthetic_source(eras().at("6.12annotated"));
  ASSERT_NE(src.find("__must_hold"), std::string::npos);
  src = "static int tpacket_snd(struct packet_sock *po, struct msghdr *msg)\n"
        "\t__must_hold(&po->pg_vec_lock);\n" +
        src;
  const auto report = locate_all(src, "1");
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(problem_messages(report));
  const auto expected = expected_lines(src);
  EXPECT_EQ(report.map.function("tpacket_snd")->start, expected.at("snd.start"));
  EXPECT_EQ(report.map.anchor("snd.len_sum")->line, expected.at("snd.len_sum"));
}

TEST(Locator, MissingAndDuplicatedFunctions) {
  std::string src = synthetic_source(eras().at("3.13"));
  std::string no_snd =
      replace_once(src, "tpacket_snd(struct packet_sock *po, struct msghdr *msg) /*@snd.start*/",
                   "tpacket_send(struct packet_sock *po, struct msghdr *msg)");
  auto r = locate_all(no_snd, "1");
  EXPECT_THAT(problem_messages(r),
              ::testing::Contains(HasSubstr("function tpacket_snd: no definition found")));
  EXPECT_EQ(r.map.functions.size(), 3u);

  const std::string twice =
      src +
      "\nstatic int tpacket_snd(struct packet_sock *po, struct msghdr *msg)\n{\n\treturn 0;\n}\n";
  r = locate_all(twice, "1");
  EXPECT_THAT(problem_messages(r),
              ::testing::Contains(HasSubstr("function tpacket_snd: 2 definitions, at lines")));
}

TEST(Locator, NotAfPacketAtAll) {
  auto r = locate("int main(void) { return 0; }\n", "1");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().why, HasSubstr("this is not net/packet/af_packet.c"));
  EXPECT_THAT(r.error().hint, HasSubstr("net/packet/af_packet.c"));
  // One function missing: its anchors are implied, not listed one by one.
  std::string src = synth::synthetic_source(synth::eras().at("3.13"));
  src.replace(src.find("tpacket_destruct_skb(struct sk_buff *skb) /*"), 20, "tpacket_destroy_skb_");
  auto one = locate(src, "1");
  ASSERT_FALSE(one);
  EXPECT_THAT(one.error().why,
              HasSubstr("function tpacket_destruct_skb or tpacket_ubuf_complete: no definition "
                        "found; is this net/packet/af_packet.c? (5 anchors of the missing "
                        "functions not placed)"));
  EXPECT_FALSE(locate("", "1"));
  EXPECT_FALSE(locate(std::string(1000, '}'), "1"));
}

TEST(Locator, ReleaseFromMakefile) {
  EXPECT_EQ(
      release_from_makefile("# x\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\n"),
      "6.1.192");
  EXPECT_EQ(
      release_from_makefile("VERSION = 3\nPATCHLEVEL = 13\nSUBLEVEL = 0\nEXTRAVERSION = -rc1\n"),
      "3.13.0-rc1");
  EXPECT_EQ(release_from_makefile("all:\n\techo hi\n"), "");
}

// The real sources of Debian's packages.
class RealSource : public ::testing::TestWithParam<std::string> {};

TEST_P(RealSource, LocatesEveryAnchor) {
  const std::string series = GetParam();
  auto text = extracted_source(series);
  if (!text)
    GTEST_SKIP() << missing_source_reason(series);
  auto map = locate(*text, series);
  ASSERT_TRUE(map) << map.error().why;
  for (const auto& a : map->anchors)
    EXPECT_TRUE(a.present()) << series << " " << a.name; // 6.1.192 and 6.12.117 have them all
  // The statement after the destructor's AVAILABLE store: packet_dec_pending() in both
  // (tpacket_destruct_skb in 6.1, tpacket_ubuf_complete in 6.12).
  EXPECT_EQ(map->anchor("destruct.after_available")->text, "packet_dec_pending(&po->tx_ring);");
  EXPECT_EQ(map->anchor("destruct.after_available")->line,
            map->anchor("destruct.set_available")->line + 2);
}

// The shipped entry equals what the locator computes from the installed package. The identity
// is the file's sha1, not the package version: Debian rebuilds (6.1.192-2 -> -3, 6.12.117 ->
// 6.12.118) often ship the same af_packet.c. When the archive has really changed the file, the
// shipped entry still describes its own sha1-identified source; what must hold then is that
// every anchor it records is still found with the same statement (lines may move), and the
// drift is printed for whoever refreshes the maps.
TEST_P(RealSource, ShippedMapEqualsLocator) {
  const std::string series = GetParam();
  auto text = extracted_source(series);
  if (!text)
    GTEST_SKIP() << missing_source_reason(series);
  auto sel = select_map(series);
  ASSERT_TRUE(sel) << sel.error().why;
  ASSERT_TRUE(sel->exact);
  const LineMap& shipped = sel->entry.map;
  if (sha1_hex(*text) != shipped.source_sha1) {
    const auto report = locate_all(*text, shipped.release);
    const auto drift = compare_maps(shipped, report);
    std::cout << "installed linux-source-" << series << " " << installed_package_version(series)
              << " has another af_packet.c than " << sel->entry.file << " (" << shipped.package
              << "):\n"
              << drift_to_text(drift);
    for (const auto& row : drift.rows)
      if (row.old_line > 0) {
        EXPECT_GT(row.new_line, 0) << row.anchor << " lost: " << row.problem;
        EXPECT_EQ(row.new_text, row.old_text) << row.anchor;
      }
    return;
  }
  auto located = locate(*text, shipped.release);
  ASSERT_TRUE(located) << located.error().why;
  EXPECT_EQ(located->source_sha1, shipped.source_sha1);
  ASSERT_EQ(located->anchors.size(), shipped.anchors.size());
  for (size_t i = 0; i < shipped.anchors.size(); ++i) {
    EXPECT_EQ(located->anchors[i].name, shipped.anchors[i].name);
    EXPECT_EQ(located->anchors[i].line, shipped.anchors[i].line) << shipped.anchors[i].name;
    EXPECT_EQ(located->anchors[i].text, shipped.anchors[i].text) << shipped.anchors[i].name;
  }
  ASSERT_EQ(located->functions.size(), shipped.functions.size());
  for (size_t i = 0; i < shipped.functions.size(); ++i) {
    EXPECT_EQ(located->functions[i].name, shipped.functions[i].name);
    EXPECT_EQ(located->functions[i].start, shipped.functions[i].start);
    EXPECT_EQ(located->functions[i].end, shipped.functions[i].end);
  }
}

INSTANTIATE_TEST_SUITE_P(Debian, RealSource, ::testing::Values("6.1", "6.12"),
                         [](const auto& param_info) {
                           return param_info.param == "6.1" ? std::string("linux_source_6_1")
                                                            : std::string("linux_source_6_12");
                         });

} // namespace
} // namespace harness::probes
