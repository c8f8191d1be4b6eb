// The HTML report's groups of frames past the lane limit (report_html_timeline.hpp).
#include "harness/report/report_html_timeline.hpp"
#include "harness/report/text_util.hpp"

#include <algorithm>
#include <map>

namespace harness::report {

using std::uint64_t;

// Frames past the lane limit: groups of consecutive rows, each with outcome counts and the
// spread of its latencies.
std::string aggregate_table(const Report& r, std::size_t from) {
  const std::size_t rest = r.frames.size() - from;
  const std::size_t groups = std::min<std::size_t>(rest, 100);
  const std::size_t per = (rest + groups - 1) / groups;
  uint64_t worst = 1;
  for (std::size_t i = from; i < r.frames.size(); ++i)
    worst = std::max(worst, frame_latency(r.frames[i]));
  std::ostringstream o;
  o << "<table class=\"agg\"><tr><th>rows</th><th>seq</th><th>slots</th><th>completed</th>"
       "<th>other outcomes</th><th>latency min / median / max</th><th></th></tr>";
  for (std::size_t g = from; g < r.frames.size(); g += per) {
    const std::size_t end = std::min(g + per, r.frames.size());
    std::vector<uint64_t> lat;
    std::map<std::string, uint64_t> other;
    uint64_t done = 0;
    std::int64_t lo_idx = -1, hi_idx = -1;
    for (std::size_t i = g; i < end; ++i) {
      const auto& f = r.frames[i];
      if (auto l = frame_latency(f))
        lat.push_back(l);
      if (f.outcome == Outcome::completed)
        ++done;
      else
        ++other[std::string(outcome_name(f.outcome))];
      if (f.index >= 0) {
        lo_idx = lo_idx < 0 ? f.index : std::min(lo_idx, f.index);
        hi_idx = std::max(hi_idx, f.index);
      }
    }
    std::sort(lat.begin(), lat.end());
    const auto& first = r.frames[g];
    const auto& last = r.frames[end - 1];
    o << "<tr" << (other.empty() ? "" : " class=\"flag\"") << "><td>" << g << "-" << end - 1
      << "</td><td>" << (first.has_sender ? std::to_string(first.sender.seq) : "-") << "-"
      << (last.has_sender ? std::to_string(last.sender.seq) : "-") << "</td><td>"
      << (lo_idx < 0 ? "?" : std::to_string(lo_idx) + "-" + std::to_string(hi_idx)) << "</td><td>"
      << done << "</td><td>";
    for (const auto& [name, n] : other)
      o << name << " " << n << " ";
    o << "</td><td>";
    if (lat.empty())
      o << "-</td><td></td>";
    else {
      const double scale = 300.0 / static_cast<double>(worst);
      o << format_duration(lat.front()) << " / " << format_duration(lat[lat.size() / 2]) << " / "
        << format_duration(lat.back()) << "</td><td><svg width=\"310\" height=\"12\">"
        << "<rect x=\"" << one_decimal(static_cast<double>(lat.front()) * scale)
        << "\" y=\"3\" width=\""
        << one_decimal(std::max(1.0, static_cast<double>(lat.back() - lat.front()) * scale))
        << "\" height=\"6\" fill=\"#9ecae1\"/><rect x=\""
        << one_decimal(static_cast<double>(lat[lat.size() / 2]) * scale)
        << "\" y=\"1\" width=\"2\" height=\"10\" fill=\"#08519c\"/></svg></td>";
    }
    o << "</tr>";
  }
  o << "</table>";
  return o.str();
}

} // namespace harness::report
