#pragma once

// A line map: where each anchor sits in one version of af_packet.c. Stored as JSON
// (`harness.map/1`) under probes/maps/, produced by `harness map`, read by drift and generate.

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::probes {

inline constexpr std::string_view map_schema = "harness.map/1";

struct AnchorLocation {
  std::string name; // a name from the anchor table
  int line = 0;     // 1-based; 0 = the anchor does not exist in this version
  std::string text; // the statement's source line, trimmed; empty when absent
  bool present() const { return line > 0; }
};

struct FunctionSpan {
  std::string role; // canonical name (anchors.hpp FunctionDef), e.g. "tpacket_destruct_skb"
  std::string name; // the name it has in this source, e.g. "tpacket_ubuf_complete"
  int start = 0;    // line of the function's name in its definition
  int end = 0;      // line of its closing brace
};

struct LineMap {
  std::string release;     // kernel release, e.g. "3.13.0-116-generic", "6.1.192"
  std::string source_sha1; // sha1 of af_packet.c (40 lowercase hex digits)
  // Build ids of kernels proven to be compiled from this very file (their DWARF named it and
  // debuginfod served it: `harness map --build-id` records the id). Such a kernel gets this
  // map without its source at hand (kernel/kernel_source.hpp).
  std::vector<std::string> build_ids;
  std::string package; // where the source came from, e.g. "linux-source-6.1 6.1.192-2"
  std::string note;    // free text (how the entry was made); never reaches a script
  std::vector<FunctionSpan> functions; // every anchored function, in file order
  std::vector<AnchorLocation> anchors; // every anchor of the table, in table order

  const AnchorLocation* anchor(std::string_view name) const;
  const FunctionSpan* function(std::string_view role) const; // by canonical name
};

// "6.1.192 (linux-source-6.1 6.1.192-2, sha1 1a2b3c4d5e6f)": names a map in messages and headers.
std::string map_identity(const LineMap& map);

// Parses and validates a map: schema, release syntax, sha1 syntax, every anchor of the table
// present exactly once and no unknown one, lines in range and inside their function, statement
// text free of control characters. `origin` (a file name) prefixes errors.
Result<LineMap> line_map_from_json(std::string_view json_text, std::string_view origin);

// Deterministic, pretty-printed JSON (ends with a newline).
std::string line_map_to_json(const LineMap& map);

Result<LineMap> load_line_map(const std::string& path);
// What an option that takes a line map (--map) wants: the hint of its errors.
inline constexpr std::string_view kLineMapHint =
    "give a line map: probes/maps/NAME.json, or one `harness map --source af_packet.c -o FILE` "
    "wrote";
Status save_line_map(const std::string& path, const LineMap& map);

// Kernel release syntax accepted in maps and on the command line: [0-9A-Za-z.+_~-], 1-64 chars,
// starting with a digit.
bool valid_release(std::string_view release);
bool valid_sha1(std::string_view sha1);
bool valid_build_id(std::string_view id); // 8..128 lowercase hex digits, even length

} // namespace harness::probes
