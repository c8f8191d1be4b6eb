#pragma once

// The report as one self-contained HTML file (report.html of a run directory, `--html FILE`):
// an SVG timeline with one lane per frame on a shared time axis, the summary, anomalies linked
// to their frames' lanes, the phase and probe tables and the baseline comparison. No scripts,
// no external requests; every string from an input file is escaped.

#include "base/result.hpp"
#include "harness/report/report.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace harness::report {

struct HtmlOptions {
  // Lanes drawn; frames past the limit are summarised in groups of consecutive frames (and the
  // page says so), so that 10,000 frames stay readable.
  std::size_t max_lanes = 256;
};

std::string format_report_html(const Report& r, const HtmlOptions& options = {});
// Written atomically.
Status write_report_html(const Report& r, const std::string& path, const HtmlOptions& options = {});

// &, <, >, " and ' as character references (text and attribute values).
std::string html_escape(std::string_view s);

} // namespace harness::report
