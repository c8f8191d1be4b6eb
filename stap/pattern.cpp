#include "pattern.hpp"

namespace harness::stap {
namespace {

bool is_ident(std::string_view t) {
  return !t.empty() &&
         ((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || t[0] == '_');
}

// A wildcard never crosses a statement or block boundary.
bool stops_wildcard(std::string_view t) {
  return t == ";" || t == "{" || t == "}";
}

bool token_matches(const PatternToken& p, std::string_view t) {
  switch (p.kind) {
  case PatternToken::Kind::literal:
    return p.text == t;
  case PatternToken::Kind::substring:
    return is_ident(t) && t.find(p.text) != std::string_view::npos;
  case PatternToken::Kind::wildcard:
    return true;
  }
  return false;
}

// Returns one past the last matched token, or npos.
size_t match_from(const Pattern& p, size_t pi, const std::vector<Token>& tokens, size_t ti,
                  size_t end) {
  while (pi < p.tokens.size()) {
    const auto& pt = p.tokens[pi];
    if (pt.kind == PatternToken::Kind::wildcard) {
      for (size_t k = ti; k <= end; ++k) {
        const size_t r = match_from(p, pi + 1, tokens, k, end);
        if (r != std::string_view::npos)
          return r;
        if (k == end || stops_wildcard(tokens[k].text))
          break;
      }
      return std::string_view::npos;
    }
    if (ti >= end || !token_matches(pt, tokens[ti].text))
      return std::string_view::npos;
    ++pi;
    ++ti;
  }
  return ti;
}

} // namespace

Pattern compile_pattern(std::string_view text) {
  Pattern p;
  p.source = std::string(text);
  const auto toks = tokenize(text).tokens;
  bool mark_next = false;
  bool percent = false;
  for (const auto& t : toks) {
    if (t.text == "@") {
      mark_next = true;
      continue;
    }
    if (t.text == "%") {
      percent = true;
      continue;
    }
    PatternToken pt;
    pt.text = std::string(t.text);
    if (t.text == "...")
      pt.kind = PatternToken::Kind::wildcard;
    else if (percent)
      pt.kind = PatternToken::Kind::substring;
    percent = false;
    if (mark_next)
      p.mark = p.tokens.size();
    mark_next = false;
    p.tokens.push_back(std::move(pt));
  }
  return p;
}

std::optional<Match> match_at(const Pattern& p, const std::vector<Token>& tokens, size_t pos,
                              size_t end) {
  if (p.tokens.empty() || pos >= end)
    return std::nullopt;
  // A leading wildcard would match everywhere; patterns start with a real token.
  if (!token_matches(p.tokens[0], tokens[pos].text) ||
      p.tokens[0].kind == PatternToken::Kind::wildcard)
    return std::nullopt;
  const size_t r = match_from(p, 0, tokens, pos, end);
  if (r == std::string_view::npos)
    return std::nullopt;
  // The marked token's position: count literal/substring tokens only when no wildcard precedes
  // the mark (rules put marks before any wildcard or use none).
  return Match{pos, r, pos + p.mark};
}

std::vector<Match> find_matches(std::span<const Pattern> alternatives,
                                const std::vector<Token>& tokens, size_t begin, size_t end) {
  std::vector<Match> out;
  for (size_t i = begin; i < end; ++i) {
    if (!out.empty() && i < out.back().end)
      continue;
    for (const auto& alt : alternatives) {
      if (auto m = match_at(alt, tokens, i, end)) {
        out.push_back(*m);
        break;
      }
    }
  }
  return out;
}

} // namespace harness::stap
