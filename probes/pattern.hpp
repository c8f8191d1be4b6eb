#pragma once

// Token patterns of anchor rules (syntax in anchor_rule.hpp).

#include "probes/c_tokens.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::probes {

struct PatternToken {
  enum class Kind { literal, wildcard, substring };
  Kind kind = Kind::literal;
  std::string text;
};

struct Pattern {
  std::string source; // as written in the rule, for messages
  std::vector<PatternToken> tokens;
  size_t mark = 0; // index of the `@`-marked token (0 when unmarked)
};

Pattern compile_pattern(std::string_view text);

struct Match {
  size_t begin = 0; // first token
  size_t end = 0;   // one past the last token
  size_t mark = 0;  // token the anchor line is taken from
};

// The match of `p` starting exactly at `pos`, not extending past `end`.
std::optional<Match> match_at(const Pattern& p, const std::vector<Token>& tokens, size_t pos,
                              size_t end);

// Every match of any alternative in [begin, end), in order; at each position the first
// alternative that matches wins, and a match overlapping the previous one is dropped.
std::vector<Match> find_matches(std::span<const Pattern> alternatives,
                                const std::vector<Token>& tokens, size_t begin, size_t end);

} // namespace harness::probes
