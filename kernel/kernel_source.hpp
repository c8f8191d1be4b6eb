#pragma once

// The target kernel's own af_packet.c, so that probe lines come from the very file the kernel
// was compiled from (docs/DESIGN.md "Kernel source by build id"). find_kernel_source is the one
// search (pre-flight, `build`/`verify`/`kprobe` through kernel/tree_map.hpp, `map`/`generate
// --build-id` through exact_map_by_build_id). Places, in order; the first that gives the file
// wins:
//   1. the build tree (-r DIR, or the tree `build`/`verify` work on), when one is given: first
//      <build dir>/net/packet/af_packet.c (Kbuild compiles the object tree's copy first: a
//      bug-zoo variant's edited file), then <source dir>/net/packet/af_packet.c (the tree's
//      resolved source directory, else <build dir>/source, the O= tree's link);
//   2. the harness cache, <cache>/by-build-id/<build id>/af_packet.c, filled by steps 3 and 4;
//   3. the matching local source package: Debian's linux-source-X.Y whose version is the
//      kernel's Debian version (the one the running kernel's /proc/version names, or the
//      version of a fetched Debian kernel package: kernel/debian_kernel.hpp);
//   4. debuginfod by build id: the kernel's debuginfo (the tree's vmlinux or a local debug file
//      with that build id, else fetched), the af_packet.c path its DWARF names, then that
//      source file;
//   5. a shipped map whose source is proven to be this kernel's: it lists the build id
//      (`source.build_ids`, recorded by `harness map --build-id`). Its lines, no file.
// A file found by step 3 or 4 is kept in the cache (step 2) for the next run. Steps 2, 4 and 5
// need the build id; step 3 needs a Debian version (the running kernel's, or a known one).
// Nothing found: the search lists every place tried, and pre-flight turns it into an error
// saying how to get the source.

#include "base/result.hpp"
#include "probes/source_map.hpp"

#include <optional>
#include <string>
#include <vector>

namespace harness::kernel {

struct SourceQuery {
  std::string release;    // the target kernel's release (uname -r, or the -r tree's)
  std::string build_id;   // its build id (empty: unknown, steps 2 and 4 are skipped)
  std::string build_dir;  // -r DIR (empty: none, step 1 is skipped)
  std::string source_dir; // the tree's source directory (empty: <build_dir>/source)
  // Step 1 takes any readable tree file, as `build`/`verify` always did (the map selection then
  // says what is wrong with it); otherwise it must look like an af_packet.c.
  bool any_tree_file = false;
  bool running = false;        // the target is the running kernel (step 3 reads /proc/version)
  std::string debian_version;  // the kernel package's Debian version, when known (step 3)
  std::string cache_dir;       // harness cache (resolve_cache_dir)
  std::string debuginfod_urls; // DEBUGINFOD_URLS
};

struct FoundSource {
  probes::KernelSource source;
  std::string provenance; // where it came from, for doctor and the report ("debuginfod ...")
};

struct SourceSearch {
  std::optional<FoundSource> found;
  std::optional<probes::MapEntry> proven_map; // step 5 (only when `found` is empty)
  bool exact() const { return found || proven_map; }
  std::vector<std::string> tried; // one entry per place looked at, with what it gave
  // Nothing found: Exit::no_map naming the kernel, what was tried and how to get the source.
  Error not_found_error() const;
  std::string release;  // for the message
  std::string build_id; // the kernel's, when known
};

// The query for a target: the running kernel (build id from /sys/kernel/notes), or the -r
// tree's vmlinux. `build_id` given (--build-id) wins.
SourceQuery source_query(const std::string& release, const std::string& build_dir,
                         const std::string& build_id, const std::string& cache_dir);

// Runs the steps above (real files, dpkg-query/tar, debuginfod-find).
SourceSearch find_kernel_source(const SourceQuery& q);

// The selection step 5 gives: the shipped map listing the build id, with its provenance.
probes::MapSelection proven_selection(const probes::MapEntry& entry, const std::string& build_id,
                                      const std::string& release);

struct ExactMap {
  probes::MapSelection selection;
  std::optional<FoundSource> source; // empty when a shipped map lists the build id (step 5)
};

// `map --build-id` and `generate --build-id`: another machine's kernel, by its build id alone
// (steps 2, 4, 5). `release` empty: the shipped map's. Error: SourceSearch::not_found_error().
Result<ExactMap> exact_map_by_build_id(const std::string& build_id, const std::string& release,
                                       const std::string& cache_dir);

// The exact line map for a found source: the shipped map with the same sha1, else the anchors
// located in the file (probes::select_map_for_source), with `provenance` set. `release` empty:
// the shipped map's release; without one the error asks for --kernel RELEASE.
Result<probes::MapSelection> exact_map_for(const FoundSource& found, const std::string& release);

// A DWARF source path that may reach debuginfod-find's command line: absolute, printable, no
// "..", ending in /net/packet/af_packet.c.
bool acceptable_dwarf_path(const std::string& path);

} // namespace harness::kernel
