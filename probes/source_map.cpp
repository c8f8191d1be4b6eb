#include "probes/source_map.hpp"

#include "base/sha1.hpp"
#include "probes/drift.hpp"
#include "probes/locator.hpp"

namespace harness::probes {
namespace {

std::string short_sha(const std::string& sha) {
  return sha.substr(0, 12);
}

// "3 of 27 anchors moved, 1 changed text" against the nearest shipped map.
std::string drift_summary(const LineMap& shipped, const LocateReport& located) {
  const DriftReport d = compare_maps(shipped, located);
  int moved = 0, changed = 0, other = 0;
  for (const auto& row : d.rows) {
    if (row.state == DriftState::moved)
      ++moved;
    else if (row.state == DriftState::text_changed)
      ++changed;
    else if (row.state != DriftState::same)
      ++other;
  }
  if (moved + changed + other == 0)
    return "every anchor is on the same line";
  std::string out =
      std::to_string(moved) + " of " + std::to_string(d.rows.size()) + " anchors moved";
  if (changed)
    out += ", " + std::to_string(changed) + " changed text";
  if (other)
    out += ", " + std::to_string(other) + " appeared or disappeared";
  return out;
}

} // namespace

Result<MapSelection> select_map_for_source(std::span<const MapEntry> entries, std::string_view spec,
                                           std::string_view release,
                                           const KernelSource* source_or_null) {
  if (!source_or_null)
    return select_map(entries, spec.empty() ? "auto" : spec, release);
  const KernelSource& source = *source_or_null;
  const std::string sha = sha1_hex(source.text);
  const bool own_kernel = spec.empty() || spec == "auto" || spec == release;
  if (!own_kernel) {
    auto sel = select_map(entries, spec, release);
    if (sel && sel->entry.map.source_sha1 != sha) {
      if (!sel->note.empty())
        sel->note += "; ";
      sel->note += "the map's source is not " + source.path + " (sha1 " + short_sha(sha) +
                   "): check its lines with `harness drift --source " + source.path + " --kernel " +
                   sel->entry.map.release + "`";
    }
    return sel;
  }
  for (const auto& e : entries)
    if (e.map.source_sha1 == sha) {
      MapSelection sel;
      sel.entry = e;
      sel.requested = std::string(release);
      sel.exact = true;
      if (e.map.release != release)
        sel.note = "using " + e.file + " (" + e.map.release + "): it holds this tree's " +
                   source.path + " byte for byte (sha1 " + short_sha(sha) + ")";
      return sel;
    }

  LocateReport located = locate_all(source.text, std::string(release));
  if (!located.ok()) {
    std::string why;
    for (const auto& p : located.problems)
      if (!p.consequence)
        why += (why.empty() ? "" : "; ") + p.message;
    return fail(Exit::no_map, source.path,
                "no shipped map holds this af_packet.c (sha1 " + short_sha(sha) +
                    ") and its anchors cannot be located: " + why,
                "give a map with --map FILE, or name a shipped one with --kernel VER (its lines "
                "may be off: check with `harness drift`)");
  }
  std::string note = "no shipped map holds this tree's af_packet.c (sha1 " + short_sha(sha) +
                     "): anchors located in " + source.path;
  if (auto nearest = select_map(entries, release, release); nearest)
    note += "; the nearest shipped map, " + nearest->entry.map.release + ": " +
            drift_summary(nearest->entry.map, located);
  MapSelection sel;
  sel.requested = std::string(release);
  sel.exact = true; // the lines are this very file's
  sel.note = std::move(note);
  sel.entry.file = source.path;
  sel.entry.map = std::move(located.map);
  // The path stays out of the map (it would reach the script's header): entry.file has it.
  sel.entry.map.package = "located in the kernel tree";
  sel.entry.map.note = "located by harness in the kernel tree's own af_packet.c";
  return sel;
}

} // namespace harness::probes
