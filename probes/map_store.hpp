#pragma once

// The shipped line maps (probes/maps/*.json under harness::data_dir()) and the choice of one for a
// kernel specification: `3.13`, `5.x`, `6.1`, a full release (`6.1.192`, `3.13.0-116-generic`)
// or `auto` (the running kernel, uname -r).

#include "base/result.hpp"
#include "probes/line_map.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::probes {

struct MapEntry {
  LineMap map;
  std::string file; // the JSON file it came from
};

struct MapSelection {
  MapEntry entry;
  std::string requested; // the spec as given (`auto` resolved to the running release)
  bool exact = false;    // the spec names this entry's release or series exactly
  // Empty when exact; otherwise names both versions, e.g. "no line map for kernel 5.x; using
  // the nearest, 6.1.192 (linux-source-6.1 6.1.192-2): line numbers may differ, check with
  // `harness drift`".
  std::string note;
  // Where the lines are proven to come from: the target kernel's own af_packet.c and how it was
  // found (kernel/kernel_source.hpp), e.g. "debuginfod (URL), build id ID, PATH (sha1 ...)".
  // Empty when the map was chosen by version only: its lines are not proven for the target.
  std::string provenance;
};

// data_dir() + "/probes/maps".
std::string shipped_maps_dir();

// Loads and validates every *.json in `dir` (sorted by release). Any invalid file is an error
// naming it; an empty or missing directory is an error too.
Result<std::vector<MapEntry>> load_maps(const std::string& dir);
Result<std::vector<MapEntry>> load_shipped_maps();

// Pure selection. `running_release` resolves `auto`. Exact: the spec equals an entry's release,
// or is a series (`6.1`, `3.13`) with an entry in it (the newest of the series). Otherwise the
// nearest entry by version (same series first, then numerically closest), with a note.
// Error (Exit::no_map) when the spec is malformed or there are no entries.
// --kernel's grammar, checked before any work: "auto", a release or a series ("6.1", "5.x"),
// at most 64 of [0-9a-zA-Z.-+_~] starting with a digit; bad input (exit 2) otherwise.
Status check_kernel_spec(std::string_view kernel_spec);

Result<MapSelection> select_map(std::span<const MapEntry> entries, std::string_view kernel_spec,
                                std::string_view running_release);

// Loads the shipped maps and selects; `auto` reads uname -r.
Result<MapSelection> select_map(std::string_view kernel_spec);

// Numeric components of a release ("3.13.0-116-generic" -> 3,13,0,116); empty when it does not
// start with a digit. Exposed for tests and for `doctor`.
std::vector<long> release_numbers(std::string_view release);

} // namespace harness::probes
