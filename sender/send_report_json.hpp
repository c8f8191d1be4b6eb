#pragma once

// harness.sender/1: the sender record as JSON, both ways (docs/DESIGN.md "Sender records").

#include "base/result.hpp"
#include "sender/send_record.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace harness::sender {

inline constexpr std::string_view kSenderSchema = "harness.sender/1";

// harness.sender/1 (DESIGN.md "Sender records"). Keys beyond the documented ones (receiver,
// injected_error, interrupted, ...) are additions; readers ignore keys they do not know.
nlohmann::json to_json(const SendReport& r);
// to_json as text (`indent` as nlohmann's dump); invalid UTF-8 is replaced, never thrown.
std::string to_json_text(const SendReport& r, int indent);
// Reads what to_json writes; errors (Exit::usage) name the key that is missing or malformed.
Result<SendReport> send_report_from_json(const nlohmann::json& j);

} // namespace harness::sender
