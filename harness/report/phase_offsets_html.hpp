#pragma once

// Part of the HTML report (report_html.hpp): when each kernel phase happened after the frame's
// SEND_REQUEST, over every frame the report holds, as one row per phase of log-scaled bins.
// Unlike the timeline's shared absolute axis, this shows microsecond and millisecond offsets
// side by side, and stays the same size for 2 frames and for 10,000.

#include "harness/report/report.hpp"

#include <string>

namespace harness::report {

// An SVG element (no scripts, no external references); empty when no frame has both the
// sender's SEND_REQUEST time and a kernel phase.
std::string phase_offsets_svg(const Report& r);

} // namespace harness::report
