#include "printable.hpp"

namespace harness {

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

} // namespace harness
