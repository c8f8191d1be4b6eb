#pragma once

// `harness.report/1` (docs/report-schema.md): the report as JSON, and back (for --baseline).

#include "base/result.hpp"
#include "harness/report/report.hpp"

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace harness::report {

nlohmann::json report_to_json(const Report& r);
// report_to_json as text: strings from a trace may hold invalid UTF-8, which is replaced
// (U+FFFD) instead of throwing (found by fuzz_trace).
std::string report_json_text(const Report& r);
// The top-level keys report_to_json writes: what load_report keeps of a file (parse_json's
// top_level_keys), so junk under another key is never held in memory.
std::span<const std::string_view> report_keys();
// Reads what report_to_json writes. Errors (Exit::usage) name `origin`, the key and the problem;
// a report of another schema version is refused.
Result<Report> report_from_json(const nlohmann::json& j, std::string_view origin);
Result<Report> load_report(const std::string& path);

} // namespace harness::report
