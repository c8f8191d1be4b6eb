#pragma once

#include "base/result.hpp"
#include "sender/send_record.hpp"
#include "sender/sender_config.hpp"

namespace harness::sender {

// Sends `c.count` frames through a PACKET_TX_RING and audits every slot.
//
// Errors (before anything is sent): invalid config (Exit::usage), not root (Exit::not_root),
// interface unknown or down (Exit::interface), size above the MTU (Exit::usage), geometry the
// kernel refuses (Exit::usage), ring too large (Exit::usage, ENOMEM), TPACKET_V3 TX missing
// (Exit::unsupported), socket/mmap failures (Exit::io).
//
// Once frames flow, problems are results, not errors: the record says which frames were not
// sent (use all_frames_sent()). SIGINT/SIGTERM (harness::interrupt_requested()) stop the fill;
// the sender waits a bounded time for frames in flight, audits, and returns the record with
// `interrupted = true`. Every wait is bounded (SenderConfig::completion_timeout); the ring never
// gets a gap (except through SenderConfig::test_only).
Result<SenderRecord> send_frames(const SenderConfig& c);

} // namespace harness::sender
