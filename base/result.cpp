#include "base/result.hpp"

#include <cstring>

namespace harness {

std::string format_error(const Error& e) {
  std::string out = "harness: " + e.what;
  if (!e.why.empty())
    out += ": " + e.why;
  if (!e.hint.empty())
    out += "\nhint: " + e.hint;
  return out;
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* s = ::strerror_r(err, buf, sizeof buf);
  return s ? std::string(s) : "errno " + std::to_string(err);
}

} // namespace harness
