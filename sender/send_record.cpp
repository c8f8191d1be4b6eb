#include "sender/send_record.hpp"

#include <linux/if_packet.h>

namespace harness::sender {

SlotStatus classify_status(std::uint32_t raw) {
  // Bits 29-31 are timestamp sources the destructor may OR into AVAILABLE.
  const std::uint32_t s = raw & ~(TP_STATUS_TS_SOFTWARE | TP_STATUS_TS_SYS_HARDWARE |
                                  static_cast<std::uint32_t>(TP_STATUS_TS_RAW_HARDWARE));
  switch (s) {
  case TP_STATUS_AVAILABLE:
    return SlotStatus::available;
  case TP_STATUS_SEND_REQUEST:
    return SlotStatus::send_request;
  case TP_STATUS_SENDING:
    return SlotStatus::sending;
  case TP_STATUS_WRONG_FORMAT:
    return SlotStatus::wrong_format;
  default:
    return SlotStatus::unknown;
  }
}

std::string_view status_name(SlotStatus s) {
  switch (s) {
  case SlotStatus::available:
    return "AVAILABLE";
  case SlotStatus::send_request:
    return "SEND_REQUEST";
  case SlotStatus::sending:
    return "SENDING";
  case SlotStatus::wrong_format:
    return "WRONG_FORMAT";
  case SlotStatus::unknown:
    return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<SlotStatus> parse_status_name(std::string_view name) {
  for (auto s : {SlotStatus::available, SlotStatus::send_request, SlotStatus::sending,
                 SlotStatus::wrong_format, SlotStatus::unknown})
    if (status_name(s) == name)
      return s;
  // RX rings call bit 2 LOSING; accept it so hand-written records read back.
  if (name == "LOSING")
    return SlotStatus::wrong_format;
  return std::nullopt;
}

bool all_frames_sent(const SenderRecord& r) {
  if (r.interrupted || r.stalled)
    return false;
  if (r.totals.sent < r.totals.requested)
    return false;
  for (const auto& s : r.slots)
    if (s.status != SlotStatus::available)
      return false;
  if (r.receiver && !r.receiver->ok)
    return false;
  return true;
}

} // namespace harness::sender
