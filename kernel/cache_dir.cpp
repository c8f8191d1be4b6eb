#include "kernel/cache_dir.hpp"

#include "base/sha1.hpp"

#include <cstdlib>

namespace harness::kernel {

std::string resolve_cache_dir(std::string_view option) {
  if (!option.empty())
    return std::string(option);
  if (const char* env = std::getenv("HARNESS_CACHE"); env && *env)
    return env;
  return "/var/cache/harness";
}

std::string cache_key(std::initializer_list<std::string_view> parts) {
  std::string all;
  for (auto p : parts) {
    all += p;
    all += '\0';
  }
  return sha1_hex(all).substr(0, 16);
}

} // namespace harness::kernel
