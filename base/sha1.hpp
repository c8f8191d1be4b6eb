#pragma once

#include <string>
#include <string_view>

namespace harness {

// SHA-1 of `data` as 40 lowercase hex digits. Used to identify source files (the same digest
// `sha1sum` prints), not for security.
std::string sha1_hex(std::string_view data);

} // namespace harness
