#pragma once

// harness.sender/1: the sender record as JSON, both ways (docs/DESIGN.md "Sender records").

#include "base/result.hpp"
#include "sender/send_record.hpp"

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace harness::sender {

inline constexpr std::string_view kSenderSchema = "harness.sender/1";

// harness.sender/1 (DESIGN.md "Sender records"). Keys beyond the documented ones (receiver,
// injected_error, interrupted, ...) are additions; readers ignore keys they do not know.
nlohmann::json to_json(const SenderRecord& r);
// to_json as text (`indent` as nlohmann's dump); invalid UTF-8 is replaced, never thrown.
std::string to_json_text(const SenderRecord& r, int indent);
// The top-level keys to_json writes and sender_record_from_json reads: what a reader parses of a
// file (parse_json's top_level_keys), so junk under another key is never held in memory.
std::span<const std::string_view> sender_record_keys();
// Reads what to_json writes; errors (Exit::usage) name the key that is missing or malformed.
Result<SenderRecord> sender_record_from_json(const nlohmann::json& j);

} // namespace harness::sender
