#include "harness/report/text_util.hpp"

#include "harness/report/frame_timeline.hpp"

#include <cstdio>
#include <cstring>

namespace harness::report {

std::string format_duration(std::uint64_t ns) {
  char buf[48];
  if (ns < 1000)
    std::snprintf(buf, sizeof buf, "%llu ns", static_cast<unsigned long long>(ns));
  else if (ns < 1000000)
    std::snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1e3);
  else if (ns < 1000000000)
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string format_hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

namespace {
template <class T> std::string list(const std::vector<T>& v, std::uint64_t total) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(v[i]);
  }
  if (total > v.size())
    s += " (and " + std::to_string(total - v.size()) + " more)";
  return s;
}
} // namespace

std::string format_list(const std::vector<std::uint64_t>& v, std::uint64_t total) {
  return list(v, total);
}
std::string format_index_list(const std::vector<std::int64_t>& v, std::uint64_t total) {
  return list(v, total);
}

std::string plural(std::uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string status_text(std::uint32_t raw) {
  switch (raw & ~kStatusTsMask) {
  case kStatusAvailable:
    return "AVAILABLE";
  case kStatusSendRequest:
    return "SEND_REQUEST";
  case kStatusSending:
    return "SENDING";
  case kStatusWrongFormat:
    return "WRONG_FORMAT";
  default:
    return std::to_string(raw);
  }
}

std::string errno_value_text(std::int64_t err) {
  if (err >= 0 || err < -4095)
    return std::to_string(err);
  const char* name = ::strerrorname_np(static_cast<int>(-err));
  return std::to_string(err) + (name ? std::string(" (") + name + ")" : std::string());
}

} // namespace harness::report
