#include "probes/c_tokens.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace harness::probes {
namespace {

std::vector<std::string> texts(const TokenizedSource& t) {
  std::vector<std::string> out;
  for (const auto& tok : t.tokens)
    out.emplace_back(tok.text);
  return out;
}

TEST(CTokens, SplitsOperatorsLongestFirst) {
  const auto t = tokenize("a->b += c ... d<<=1; x==y");
  EXPECT_EQ(texts(t), (std::vector<std::string>{"a", "->", "b", "+=", "c", "...", "d", "<<=", "1",
                                                ";", "x", "==", "y"}));
}

TEST(CTokens, CommentsStringsAndCharsHideBraces) {
  const auto t = tokenize("f() { /* { */ s = \"}{\\\"}\"; c = '{'; // }\n}\n");
  EXPECT_FALSE(t.unbalanced);
  ASSERT_EQ(t.tokens.back().text, "}");
  EXPECT_EQ(t.tokens.back().depth, 0);
  EXPECT_EQ(t.tokens.back().line, 2);
  for (const auto& tok : t.tokens)
    EXPECT_NE(tok.text, "/*");
}

TEST(CTokens, PreprocessorLinesAndContinuationsAreSkipped) {
  const auto t = tokenize("#define X { \\\n  {\n#if 0 /* multi\n line */\nint a;\n#endif\nint b;");
  EXPECT_EQ(texts(t), (std::vector<std::string>{"int", "a", ";", "int", "b", ";"}));
  EXPECT_EQ(t.tokens[0].line, 5);
  EXPECT_EQ(t.tokens[3].line, 7);
}

TEST(CTokens, HashInsideALineIsNotADirective) {
  const auto t = tokenize("x = a # b;");
  EXPECT_EQ(t.tokens.size(), 6u);
}

TEST(CTokens, LineNumbersAndDepth) {
  const auto t = tokenize("void f(void)\n{\n\tif (x) {\n\t\ty();\n\t}\n}\n");
  ASSERT_EQ(t.lines.size(), 6u);
  EXPECT_EQ(t.lines[2], "\tif (x) {");
  for (const auto& tok : t.tokens) {
    if (tok.text == "y") {
      EXPECT_EQ(tok.depth, 2);
    }
  }
  EXPECT_EQ(t.tokens[5].text, "{");
  EXPECT_EQ(matching_close(t.tokens, 5, t.tokens.size()), t.tokens.size() - 1);
}

TEST(CTokens, UnbalancedIsReported) {
  EXPECT_TRUE(tokenize("}").unbalanced);
  EXPECT_TRUE(tokenize("{ {").unbalanced);
  EXPECT_FALSE(tokenize("{ }").unbalanced);
}

TEST(CTokens, UnterminatedLiteralStopsAtEndOfLine) {
  const auto t = tokenize("a = \"oops\nb = 1;");
  EXPECT_EQ(t.tokens.back().text, ";");
  EXPECT_EQ(t.tokens.back().line, 2);
}

} // namespace
} // namespace harness::probes
