#pragma once

// Part of the HTML report (report_html.hpp): the timeline section, one SVG lane per frame on a
// shared time axis with the lanes' exact times below, the frames past the lane limit in groups,
// and the links from an anomaly to the lanes of its frames.

#include "harness/report/report.hpp"
#include "harness/report/report_html.hpp"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace harness::report {

// The "Timeline" section for the first `lanes` frames; `flagged[i]`: lane i shows a frame an
// anomaly names.
void timeline_section(std::ostringstream& o, const Report& r, const HtmlOptions& opt,
                      const std::vector<bool>& flagged, std::size_t lanes);
// Links to the lanes of the frames an anomaly names (by seq, or by ring slot for kernel-only
// frames); frames without a lane are named as text.
std::string anomaly_links(const Report& r, const Anomaly& a, std::size_t lanes);
// Whether anomaly `a` names frame `f`.
bool anomaly_names(const Anomaly& a, const FrameTimeline& f);
// Frames `from` and later in groups of consecutive rows: outcome counts and latency spread.
std::string aggregate_table(const Report& r, std::size_t from);
// A frame's end-to-end latency (sender's SEND_REQUEST -> AVAILABLE, else destructor), 0: unknown.
std::uint64_t frame_latency(const FrameTimeline& f);
// "12.3": a number with one decimal, as the page writes coordinates and percentages.
std::string one_decimal(double v);

} // namespace harness::report
