#include "probes/map_store.hpp"

#include "base/files.hpp"
#include "base/printable.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sys/utsname.h>
#include <system_error>

namespace harness::probes {
namespace {

// How far apart two versions are, for "nearest": a longer common prefix always wins, then the
// first differing component decides (weighted so 6.1 is nearer to 5.x than 3.13 is).
struct Distance {
  size_t common = 0;
  double gap = 0;
  bool operator<(const Distance& o) const {
    if (common != o.common)
      return common > o.common;
    return gap < o.gap;
  }
};

Distance distance(const std::vector<long>& a, const std::vector<long>& b) {
  Distance d;
  while (d.common < a.size() && d.common < b.size() && a[d.common] == b[d.common])
    ++d.common;
  double scale = 1.0, va = 0, vb = 0;
  for (size_t i = d.common; i < d.common + 3; ++i) {
    va += (i < a.size() ? static_cast<double>(a[i]) : 0) * scale;
    vb += (i < b.size() ? static_cast<double>(b[i]) : 0) * scale;
    scale /= 1000.0;
  }
  d.gap = std::fabs(va - vb);
  return d;
}

bool is_prefix(const std::vector<long>& prefix, const std::vector<long>& v) {
  return prefix.size() <= v.size() && std::equal(prefix.begin(), prefix.end(), v.begin());
}

bool valid_spec(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < '0' || s[0] > '9')
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
          c == '-' || c == '+' || c == '_' || c == '~'))
      return false;
  return true;
}

std::string describe(const LineMap& m) {
  return m.release + (m.package.empty() ? "" : " (" + m.package + ")");
}

} // namespace

std::vector<long> release_numbers(std::string_view r) {
  std::vector<long> out;
  size_t i = 0;
  while (i < r.size() && r[i] >= '0' && r[i] <= '9') {
    long v = 0;
    size_t digits = 0;
    while (i < r.size() && r[i] >= '0' && r[i] <= '9' && digits < 9) {
      v = v * 10 + (r[i] - '0');
      ++i;
      ++digits;
    }
    out.push_back(v);
    // Separators between numbers: '.' in the version, '-' before the distro's ABI number.
    if (i + 1 < r.size() && (r[i] == '.' || r[i] == '-') && r[i + 1] >= '0' && r[i + 1] <= '9')
      ++i;
    else
      break;
  }
  return out;
}

std::string shipped_maps_dir() {
  return data_dir() + "/probes/maps";
}

Result<std::vector<MapEntry>> load_maps(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json")
      files.push_back(it->path().string());
  }
  if (ec)
    return fail(Exit::no_map, dir, "cannot read the line map directory: " + ec.message(),
                "set HARNESS_DATA_DIR to the directory holding probes/maps");
  if (files.empty())
    return fail(Exit::no_map, dir, "no line maps (*.json) found",
                "set HARNESS_DATA_DIR to the directory holding probes/maps");
  std::sort(files.begin(), files.end());
  std::vector<MapEntry> out;
  for (const auto& f : files) {
    auto m = load_line_map(f);
    if (!m)
      return std::unexpected(m.error());
    for (const auto& prev : out)
      if (prev.map.release == m->release)
        return fail(Exit::no_map, f, "release " + m->release + " is also mapped by " + prev.file,
                    "remove one of the two files");
    out.push_back({std::move(*m), f});
  }
  std::sort(out.begin(), out.end(), [](const MapEntry& a, const MapEntry& b) {
    return release_numbers(a.map.release) < release_numbers(b.map.release);
  });
  return out;
}

Result<std::vector<MapEntry>> load_shipped_maps() {
  return load_maps(shipped_maps_dir());
}

Status check_kernel_spec(std::string_view spec) {
  if (spec == "auto")
    return {};
  std::string numeric(spec);
  if (numeric.size() > 2 && (numeric.ends_with(".x") || numeric.ends_with(".X")))
    numeric.resize(numeric.size() - 2);
  if (!valid_spec(spec) || release_numbers(numeric).empty())
    return fail(Exit::usage, "--kernel " + printable_bounded(spec, 64),
                "not a kernel version (expected e.g. 3.13, 5.x, 6.1, 6.1.192, a full release, or "
                "auto)",
                "`uname -r` prints the running kernel's release");
  return {};
}

Result<MapSelection> select_map(std::span<const MapEntry> entries, std::string_view spec_in,
                                std::string_view running_release) {
  std::string spec(spec_in);
  if (spec == "auto") {
    spec = std::string(running_release);
    if (spec.empty())
      return fail(Exit::no_map, "--kernel auto", "cannot tell the running kernel's release",
                  "give the release with --kernel");
  }
  if (auto s = check_kernel_spec(spec); !s)
    return std::unexpected(s.error());
  // "5.x" is a series: drop the trailing ".x".
  std::string numeric = spec;
  if (numeric.size() > 2 && (numeric.ends_with(".x") || numeric.ends_with(".X")))
    numeric.resize(numeric.size() - 2);
  if (entries.empty())
    return fail(Exit::no_map, "--kernel " + spec, "no line maps are installed",
                "set HARNESS_DATA_DIR to the directory holding probes/maps");
  const auto want = release_numbers(numeric);
  const bool dotted_x = numeric.size() != spec.size();
  const bool series =
      dotted_x || (want.size() <= 2 && spec.find_first_not_of("0123456789.") == std::string::npos);
  MapSelection sel;
  sel.requested = spec;
  // Exact: the same release string, the same numbers (3.13.0-116 = 3.13.0-116-generic), or a
  // series with an entry in it (its newest entry).
  for (const auto& e : entries)
    if (e.map.release == spec) {
      sel.entry = e;
      sel.exact = true;
      return sel;
    }
  for (const auto& e : entries)
    if (release_numbers(e.map.release) == want && want.size() >= 3) {
      sel.entry = e;
      sel.exact = true;
      return sel;
    }
  if (series) {
    const MapEntry* best = nullptr;
    for (const auto& e : entries)
      if (is_prefix(want, release_numbers(e.map.release)))
        best = &e; // entries are sorted: the last is the newest
    if (best) {
      sel.entry = *best;
      sel.exact = true;
      return sel;
    }
  }
  const MapEntry* best = &entries.front();
  Distance best_d = distance(want, release_numbers(best->map.release));
  for (const auto& e : entries) {
    const Distance d = distance(want, release_numbers(e.map.release));
    if (d < best_d) {
      best = &e;
      best_d = d;
    }
  }
  sel.entry = *best;
  sel.exact = false;
  sel.note = "no line map for kernel " + spec + "; using the nearest, " + describe(best->map) +
             ": its line numbers may not match " + spec +
             " (check with `harness drift --source af_packet.c --kernel " + spec +
             "` or `harness verify`)";
  return sel;
}

Result<MapSelection> select_map(std::string_view kernel_spec) {
  auto entries = load_shipped_maps();
  if (!entries)
    return std::unexpected(entries.error());
  std::string running;
  if (kernel_spec == "auto") {
    struct utsname u {};
    if (::uname(&u) == 0)
      running = u.release;
  }
  return select_map(*entries, kernel_spec, running);
}

} // namespace harness::probes
