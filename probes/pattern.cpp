#include "probes/pattern.hpp"

namespace harness::probes {
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

constexpr size_t kNoMatch = std::string_view::npos;

// What a wildcard at pattern token `pi` matches from token `ti` on (one past the match, or
// kNoMatch), kept for one token range [begin, end]: the answer depends only on (pi, ti), so each
// is found once per range. Without it a statement holding many candidates for the tokens around
// two wildcards was re-scanned from every start and every candidate: cubic in the statement's
// length (a 6.7 KB tpacket_snd of `err = ` and `xmit` took 1.5 s to map; found fuzzing).
class WildcardMemo {
public:
  WildcardMemo(const Pattern& p, size_t begin, size_t end)
      : p_(&p), begin_(begin), width_(end - begin + 1) {}
  // Allocated on first use: most patterns have no wildcard, most starts fail on the first token.
  size_t& at(size_t pi, size_t ti) {
    if (cells_.empty()) {
      row_.assign(p_->tokens.size(), 0);
      size_t rows = 0;
      for (size_t i = 0; i < p_->tokens.size(); ++i)
        if (p_->tokens[i].kind == PatternToken::Kind::wildcard)
          row_[i] = rows++;
      cells_.assign(rows * width_, kUnknown);
    }
    return cells_[row_[pi] * width_ + (ti - begin_)];
  }
  static constexpr size_t kUnknown = kNoMatch - 1;

private:
  const Pattern* p_;
  size_t begin_, width_;
  std::vector<size_t> row_; // pattern token -> row of cells_, for the wildcards
  std::vector<size_t> cells_;
};

size_t match_from(const Pattern& p, size_t pi, const std::vector<Token>& tokens, size_t ti,
                  size_t end, WildcardMemo* memo);

// The first k >= ti from which the rest of the pattern matches, the wildcard covering [ti, k)
// and never crossing a stop token. A failed k that is no stop token has the answer of k + 1,
// so every k scanned before the answer shares it.
size_t match_wildcard(const Pattern& p, size_t pi, const std::vector<Token>& tokens, size_t ti,
                      size_t end, WildcardMemo* memo) {
  size_t k = ti;
  size_t r = kNoMatch;
  for (;; ++k) {
    if (memo && k > ti && memo->at(pi, k) != WildcardMemo::kUnknown) {
      r = memo->at(pi, k);
      break;
    }
    r = match_from(p, pi + 1, tokens, k, end, memo);
    if (r != kNoMatch || k == end || stops_wildcard(tokens[k].text))
      break;
  }
  if (memo)
    for (size_t j = ti; j <= k; ++j)
      memo->at(pi, j) = r;
  return r;
}

// Returns one past the last matched token, or kNoMatch.
size_t match_from(const Pattern& p, size_t pi, const std::vector<Token>& tokens, size_t ti,
                  size_t end, WildcardMemo* memo) {
  while (pi < p.tokens.size()) {
    const auto& pt = p.tokens[pi];
    if (pt.kind == PatternToken::Kind::wildcard)
      return match_wildcard(p, pi, tokens, ti, end, memo);
    if (ti >= end || !token_matches(pt, tokens[ti].text))
      return kNoMatch;
    ++pi;
    ++ti;
  }
  return ti;
}

std::optional<Match> match_at(const Pattern& p, const std::vector<Token>& tokens, size_t pos,
                              size_t end, WildcardMemo* memo) {
  if (p.tokens.empty() || pos >= end)
    return std::nullopt;
  // A leading wildcard would match everywhere; patterns start with a real token.
  if (!token_matches(p.tokens[0], tokens[pos].text) ||
      p.tokens[0].kind == PatternToken::Kind::wildcard)
    return std::nullopt;
  const size_t r = match_from(p, 0, tokens, pos, end, memo);
  if (r == kNoMatch)
    return std::nullopt;
  // The marked token's position: count literal/substring tokens only when no wildcard precedes
  // the mark (rules put marks before any wildcard or use none).
  return Match{pos, r, pos + p.mark};
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
  return match_at(p, tokens, pos, end, nullptr);
}

std::vector<Match> find_matches(std::span<const Pattern> alternatives,
                                const std::vector<Token>& tokens, size_t begin, size_t end) {
  std::vector<Match> out;
  if (begin >= end)
    return out;
  std::vector<WildcardMemo> memos;
  memos.reserve(alternatives.size());
  for (const auto& alt : alternatives)
    memos.emplace_back(alt, begin, end);
  for (size_t i = begin; i < end; ++i) {
    if (!out.empty() && i < out.back().end)
      continue;
    for (size_t a = 0; a < alternatives.size(); ++a) {
      if (auto m = match_at(alternatives[a], tokens, i, end, &memos[a])) {
        out.push_back(*m);
        break;
      }
    }
  }
  return out;
}

} // namespace harness::probes
