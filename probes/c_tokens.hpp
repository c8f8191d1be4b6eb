#pragma once

// A C tokenizer just good enough to find function bodies and statements in kernel sources:
// comments, preprocessor lines (with continuations), string and character literals are never
// mistaken for code, so braces inside them do not disturb brace matching.

#include <string_view>
#include <vector>

namespace harness::probes {

struct Token {
  std::string_view text; // view into the source (literals keep their quotes)
  int line = 0;          // 1-based
  int depth = 0;         // brace depth before the token ('{' is at the outer depth, '}' too)
};

struct TokenizedSource {
  std::vector<Token> tokens;
  std::vector<std::string_view> lines; // raw source lines, index 0 = line 1, without '\n'
  bool unbalanced = false;             // a '}' without '{', or '{' left open at the end
};

TokenizedSource tokenize(std::string_view source);

// Index of the token closing the bracket at `open` ('(' / '[' / '{'), or tokens.size().
size_t matching_close(const std::vector<Token>& tokens, size_t open, size_t end);

} // namespace harness::probes
