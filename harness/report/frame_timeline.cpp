#include "harness/report/frame_timeline.hpp"

#include <array>

namespace harness::report {

std::string_view phase_name(Phase p) {
  static constexpr std::array<std::string_view, kPhaseCount> k = {"request_seen", "sending", "xmit",
                                                                  "destruct", "available"};
  return k[static_cast<std::size_t>(p)];
}

std::string_view phase_title(Phase p) {
  static constexpr std::array<std::string_view, kPhaseCount> k = {
      "SEND_REQUEST seen", "SENDING", "transmitted", "destructor", "AVAILABLE"};
  return k[static_cast<std::size_t>(p)];
}

std::string_view map_source_name(MapSource m) {
  switch (m) {
  case MapSource::ph_check:
    return "ph_check";
  case MapSource::len_sum:
    return "len_sum";
  case MapSource::ring_order:
    return "ring_order";
  case MapSource::none:
    break;
  }
  return "none";
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
  case Outcome::completed:
    return "completed";
  case Outcome::stuck:
    return "stuck";
  case Outcome::not_seen:
    return "not_seen";
  case Outcome::unmatched:
    return "unmatched";
  case Outcome::wrong_format:
    return "wrong_format";
  case Outcome::discarded:
    return "discarded";
  case Outcome::unobserved:
    return "unobserved";
  }
  return "completed";
}

} // namespace harness::report
