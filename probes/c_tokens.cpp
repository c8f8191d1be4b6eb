#include "probes/c_tokens.hpp"

#include <array>

namespace harness::probes {
namespace {

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

constexpr std::array<std::string_view, 3> kPunct3 = {"<<=", ">>=", "..."};
constexpr std::array<std::string_view, 19> kPunct2 = {
    "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&",
    "||", "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|="};

class Scanner {
public:
  explicit Scanner(std::string_view s) : src_(s) {}

  TokenizedSource run() {
    split_lines();
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
        at_line_start_ = true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
        continue;
      }
      if (c == '/' && peek(1) == '/') {
        skip_line_comment();
        continue;
      }
      if (c == '/' && peek(1) == '*') {
        skip_block_comment();
        continue;
      }
      if (c == '#' && at_line_start_) {
        skip_directive();
        continue;
      }
      at_line_start_ = false;
      if (c == '"' || c == '\'') {
        literal(c);
        continue;
      }
      if (ident_start(c)) {
        word(ident_char);
        continue;
      }
      if (digit(c) || (c == '.' && digit(peek(1)))) {
        word([](char ch) { return ident_char(ch) || ch == '.'; });
        continue;
      }
      punct();
    }
    if (depth_ != 0)
      out_.unbalanced = true;
    return std::move(out_);
  }

private:
  char peek(size_t ahead) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }

  void split_lines() {
    size_t start = 0;
    for (size_t i = 0; i <= src_.size(); ++i) {
      if (i == src_.size() || src_[i] == '\n') {
        if (i == src_.size() && start == i)
          break; // no empty last line after a final newline
        out_.lines.push_back(src_.substr(start, i - start));
        start = i + 1;
      }
    }
  }

  void emit(size_t begin, size_t end, int line) {
    const std::string_view text = src_.substr(begin, end - begin);
    Token t{text, line, depth_};
    if (text == "}") {
      if (depth_ == 0)
        out_.unbalanced = true;
      else
        --depth_;
      t.depth = depth_;
    } else if (text == "{") {
      ++depth_;
    }
    out_.tokens.push_back(t);
  }

  void skip_line_comment() {
    while (pos_ < src_.size() && src_[pos_] != '\n')
      ++pos_;
  }

  void skip_block_comment() {
    pos_ += 2;
    while (pos_ < src_.size() && !(src_[pos_] == '*' && peek(1) == '/')) {
      if (src_[pos_] == '\n')
        ++line_;
      ++pos_;
    }
    pos_ = pos_ < src_.size() ? pos_ + 2 : src_.size();
  }

  // A directive runs to the end of the line, continued by a trailing backslash; a block comment
  // opened inside it may span lines.
  void skip_directive() {
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == '\n')
        return; // the newline itself is handled by the main loop
      if (c == '\\' && peek(1) == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
      if (c == '\\' && peek(1) == '\r' && peek(2) == '\n') {
        pos_ += 3;
        ++line_;
        continue;
      }
      if (c == '/' && peek(1) == '*') {
        skip_block_comment();
        continue;
      }
      if (c == '/' && peek(1) == '/') {
        skip_line_comment();
        return;
      }
      ++pos_;
    }
  }

  // A literal never spans a line in kernel code; an unterminated one ends at the line's end so
  // that one stray quote cannot swallow the rest of the file.
  void literal(char quote) {
    const size_t begin = pos_;
    const int line = line_;
    ++pos_;
    while (pos_ < src_.size() && src_[pos_] != quote && src_[pos_] != '\n') {
      if (src_[pos_] == '\\' && pos_ + 1 < src_.size()) {
        if (src_[pos_ + 1] == '\n')
          ++line_;
        pos_ += 2;
        continue;
      }
      ++pos_;
    }
    if (pos_ < src_.size() && src_[pos_] == quote)
      ++pos_;
    emit(begin, pos_, line);
  }

  template <class Pred> void word(Pred more) {
    const size_t begin = pos_;
    while (pos_ < src_.size() && more(src_[pos_]))
      ++pos_;
    emit(begin, pos_, line_);
  }

  void punct() {
    const std::string_view rest = src_.substr(pos_);
    size_t len = 1;
    for (auto p : kPunct3)
      if (rest.starts_with(p))
        len = 3;
    if (len == 1)
      for (auto p : kPunct2)
        if (rest.starts_with(p))
          len = 2;
    emit(pos_, pos_ + len, line_);
    pos_ += len;
  }

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  int depth_ = 0;
  bool at_line_start_ = true;
  TokenizedSource out_;
};

} // namespace

TokenizedSource tokenize(std::string_view source) {
  return Scanner(source).run();
}

size_t matching_close(const std::vector<Token>& tokens, size_t open, size_t end) {
  const std::string_view o = tokens[open].text;
  const std::string_view c = o == "(" ? ")" : o == "[" ? "]" : "}";
  int level = 0;
  for (size_t i = open; i < end; ++i) {
    if (tokens[i].text == o)
      ++level;
    else if (tokens[i].text == c && --level == 0)
      return i;
  }
  return tokens.size();
}

} // namespace harness::probes
