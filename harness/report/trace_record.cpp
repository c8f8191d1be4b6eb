#include "trace_record.hpp"

#include "trace_format.hpp"

#include <array>

namespace harness::report {
namespace {

namespace tk = harness::stap::trace::key;

constexpr std::array<std::string_view, kKeyCount> kKeyNames = {
    tk::po,      tk::frame,     tk::ph,         tk::status,
    tk::head,    tk::frame_max, tk::frame_size, tk::frames_per_block,
    tk::version, tk::flags,     tk::pending,    tk::err,
    tk::len_sum, tk::tp_len,    tk::ts,         tk::sndbuf,
    tk::wmem,    tk::noblock,   tk::state,      tk::timeo,
};

} // namespace

std::string_view key_name(Key k) {
  return kKeyNames[static_cast<std::size_t>(k)];
}

std::optional<Key> key_from_name(std::string_view name) {
  // Dispatch on length first: this runs for every key of every record.
  auto is = [&](Key k) {
    return kKeyNames[static_cast<std::size_t>(k)] == name;
  };
  switch (name.size()) {
  case 2:
    for (Key k : {Key::po, Key::ph, Key::ts})
      if (is(k))
        return k;
    break;
  case 3:
    if (is(Key::err))
      return Key::err;
    break;
  case 4:
    for (Key k : {Key::head, Key::wmem})
      if (is(k))
        return k;
    break;
  case 5:
    for (Key k : {Key::frame, Key::flags, Key::state, Key::timeo})
      if (is(k))
        return k;
    break;
  case 6:
    for (Key k : {Key::status, Key::tp_len, Key::sndbuf})
      if (is(k))
        return k;
    break;
  case 7:
    for (Key k : {Key::version, Key::pending, Key::len_sum, Key::noblock})
      if (is(k))
        return k;
    break;
  case 9:
    if (is(Key::frame_max))
      return Key::frame_max;
    break;
  case 10:
    if (is(Key::frame_size))
      return Key::frame_size;
    break;
  case 16:
    if (is(Key::frames_per_block))
      return Key::frames_per_block;
    break;
  default:
    break;
  }
  return std::nullopt;
}

} // namespace harness::report
