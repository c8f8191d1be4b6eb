#include "probes/pattern.hpp"

#include <gtest/gtest.h>
#include <string>

namespace harness::probes {
namespace {

std::vector<Match> find(std::string_view pattern, std::string_view code) {
  static std::vector<TokenizedSource> keep; // tokens view into the source text
  keep.push_back(tokenize(code));
  const auto& toks = keep.back().tokens;
  std::vector<Pattern> alts{compile_pattern(pattern)};
  return find_matches(alts, toks, 0, toks.size());
}

TEST(Pattern, SpacingAndLineBreaksDoNotMatter) {
  EXPECT_EQ(find("if (unlikely(ph == NULL))", "if(unlikely(ph==NULL\n))").size(), 1u);
}

TEST(Pattern, WildcardStopsAtStatementBoundaries) {
  EXPECT_EQ(find("err = ... %xmit ... skb);", "err = READ_ONCE(po->xmit)(skb);").size(), 1u);
  EXPECT_EQ(find("err = ... %xmit ... skb);", "err = packet_xmit(po, skb);").size(), 1u);
  EXPECT_EQ(find("err = ... %xmit ... skb);", "err = net_xmit_errno(err); f(skb);").size(), 0u);
  EXPECT_EQ(find("if ( ... size_max > dev->mtu", "if (a) { b; } size_max > dev->mtu").size(), 0u);
}

TEST(Pattern, SubstringMatchesIdentifiersOnly) {
  EXPECT_EQ(find("%xmit (", "dev_queue_xmit(skb)").size(), 1u);
  EXPECT_EQ(find("%xmit (", "\"xmit\" (").size(), 0u);
}

TEST(Pattern, MarkPicksTheLine) {
  const auto m = find("else @break;", "} else\n  break;");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mark, m[0].begin + 1);
}

TEST(Pattern, OverlappingMatchesCountOnce) {
  static const auto src = tokenize("timeo = wait_for(x); wait_for(y);");
  std::vector<Pattern> alts{compile_pattern("timeo = wait_for("), compile_pattern("wait_for(")};
  const auto m = find_matches(alts, src.tokens, 0, src.tokens.size());
  EXPECT_EQ(m.size(), 2u);
}

// Many starts and many candidates around two wildcards in one statement (the input that made
// matching cubic): every start shares what the wildcards matched, and the answers stay those of
// a scan from each start.
TEST(Pattern, ManyWildcardCandidatesInOneStatement) {
  std::string many;
  for (int i = 0; i < 400; ++i)
    many += "err = ";
  for (int i = 0; i < 400; ++i)
    many += "xmit ";
  EXPECT_EQ(find("err = ... %xmit ... skb);", many + ";").size(), 0u);
  // Each start matches up to the one `skb);`; a match overlapping the previous one is dropped.
  const auto m = find("err = ... %xmit ... skb);", many + "skb); err = a_xmit(skb);");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].begin, 0u);
  EXPECT_EQ(m[0].end, 800u + 400u + 3u);
  EXPECT_EQ(m[1].begin, m[0].end);
  EXPECT_EQ(m[1].end, m[0].end + 7u);
  // A stop token between the candidates ends the wildcard: only the last start reaches `xmit`.
  const auto cut = find("err = ... %xmit ... skb);", "err = a; err = b; err = c xmit(skb);");
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].begin, 8u);
}

} // namespace
} // namespace harness::probes
