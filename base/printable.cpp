#include "base/printable.hpp"

#include <cstdio>

namespace harness {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t' || (c == '\n' && keep_newlines)) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out.push_back('?'); // C1 control (CSI is U+009B) in UTF-8
      ++i;
    } else if (c >= 0x80 && c <= 0x9f) {
      out.push_back('?'); // a raw C1 byte: some terminals act on it
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string printable_bounded(std::string_view text, std::size_t max_len) {
  if (text.size() <= max_len)
    return printable(text);
  std::size_t cut = max_len > 3 ? max_len - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
    --cut; // not inside a UTF-8 sequence
  return printable(text.substr(0, cut)) + std::string("...").substr(0, max_len - cut);
}

} // namespace harness
