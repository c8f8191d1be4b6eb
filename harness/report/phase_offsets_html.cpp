#include "harness/report/phase_offsets_html.hpp"

#include "harness/report/text_util.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace harness::report {
namespace {

constexpr std::size_t kBins = 90;
constexpr double kLabelW = 190, kPlotW = 720, kRowH = 22, kAxisH = 26;
constexpr std::array<const char*, kPhaseCount> kColour = {"#1f77b4", "#ff7f0e", "#9467bd",
                                                          "#8c564b", "#2ca02c"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct Rows {
  std::array<std::vector<std::uint64_t>, kPhaseCount> offsets; // ns after SEND_REQUEST
  std::uint64_t lo = 0, hi = 0;
};

Rows collect(const Report& r) {
  Rows rows;
  for (const auto& f : r.frames) {
    if (!f.has_sender || f.sender.t_request_ns <= 0)
      continue;
    const auto base = static_cast<std::uint64_t>(f.sender.t_request_ns);
    for (std::size_t p = 0; p < kPhaseCount; ++p) {
      if (f.t[p] == 0 || f.t[p] < base)
        continue;
      const std::uint64_t d = std::max<std::uint64_t>(f.t[p] - base, 1);
      rows.offsets[p].push_back(d);
      rows.lo = rows.lo == 0 ? d : std::min(rows.lo, d);
      rows.hi = std::max(rows.hi, d);
    }
  }
  return rows;
}

} // namespace

std::string phase_offsets_svg(const Report& r) {
  Rows rows = collect(r);
  if (rows.hi == 0)
    return {};
  // Whole decades around the data, so the ticks are 1, 10, 100 ... units.
  const double l0 = std::floor(std::log10(static_cast<double>(rows.lo)));
  const double l1 = std::max(l0 + 1, std::ceil(std::log10(static_cast<double>(rows.hi) + 1)));
  auto xof = [&](double v) {
    return kLabelW + (std::log10(v) - l0) / (l1 - l0) * kPlotW;
  };
  const double height = kAxisH + kRowH * kPhaseCount + 4;
  std::ostringstream o;
  o << "<svg class=\"offsets\" width=\"" << num(kLabelW + kPlotW + 50) << "\" height=\""
    << num(height) << "\" role=\"img\" aria-label=\"phase offsets from SEND_REQUEST\"><g "
    << "class=\"axis\">";
  for (double d = l0; d <= l1; d += 1) {
    const double x = xof(std::pow(10.0, d));
    o << "<line x1=\"" << num(x) << "\" y1=\"" << num(kAxisH - 6) << "\" x2=\"" << num(x)
      << "\" y2=\"" << num(height) << "\" class=\"grid\"/><text x=\"" << num(x) << "\" y=\""
      << num(kAxisH - 10) << "\" text-anchor=\"middle\">"
      << format_duration(static_cast<std::uint64_t>(std::pow(10.0, d))) << "</text>";
  }
  o << "</g>";
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    auto& v = rows.offsets[p];
    const double y = kAxisH + kRowH * static_cast<double>(p);
    o << "<text x=\"4\" y=\"" << num(y + kRowH / 2 + 4) << "\">"
      << phase_title(static_cast<Phase>(p)) << " (" << v.size() << ")</text>";
    if (v.empty())
      continue;
    std::array<std::uint64_t, kBins> bins{};
    for (auto d : v) {
      const double at = (std::log10(static_cast<double>(d)) - l0) / (l1 - l0);
      ++bins[std::min(kBins - 1, static_cast<std::size_t>(at * kBins))];
    }
    const std::uint64_t most = *std::max_element(bins.begin(), bins.end());
    const double bw = kPlotW / kBins;
    for (std::size_t b = 0; b < kBins; ++b) {
      if (bins[b] == 0)
        continue;
      const double from = std::pow(10.0, l0 + (l1 - l0) * static_cast<double>(b) / kBins);
      const double to = std::pow(10.0, l0 + (l1 - l0) * static_cast<double>(b + 1) / kBins);
      // At least a third opaque, so a single frame stays visible next to thousands.
      const double opacity = 0.33 + 0.67 * static_cast<double>(bins[b]) / static_cast<double>(most);
      o << "<rect x=\"" << num(kLabelW + bw * static_cast<double>(b)) << "\" y=\"" << num(y + 3)
        << "\" width=\"" << num(std::max(bw - 0.5, 1.0)) << "\" height=\"" << num(kRowH - 6)
        << "\" fill=\"" << kColour[p] << "\" fill-opacity=\"" << num(opacity) << "\"><title>"
        << plural(bins[b], "frame", "frames") << ": "
        << format_duration(static_cast<std::uint64_t>(from)) << " - "
        << format_duration(static_cast<std::uint64_t>(to)) << "</title></rect>";
    }
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    const double med = xof(static_cast<double>(v[v.size() / 2]));
    o << "<path d=\"M" << num(med) << " " << num(y + 1) << "v" << num(kRowH - 2)
      << "\" stroke=\"#000\" stroke-width=\"2\"><title>median " << format_duration(v[v.size() / 2])
      << "</title></path>";
  }
  o << "</svg>";
  return o.str();
}

} // namespace harness::report
