#pragma once

// The sender record as text for people: the audit `harness send` prints and the -v frame table.

#include "sender/send_record.hpp"

#include <string>

namespace harness::sender {

// The human-readable audit: geometry, totals, rate, counters, slot summary, stranded frames,
// injected error, receiver verdict.
std::string format_audit(const SenderRecord& r);

// One line per frame record (seq, ring slot, timestamps relative to the first fill, final
// status), for -v.
std::string format_frames(const SenderRecord& r);

} // namespace harness::sender
