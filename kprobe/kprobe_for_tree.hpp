#pragma once

// `harness build --backend kprobe` and `harness vm run --backend kprobe`: kprobe definitions for a
// kernel build tree (its vmlinux's DWARF, the tree's own line map), written as NAME.kprobes and
// NAME.plan.json into `out_dir` and cached like probe modules (kprobe/perf_probe.hpp).

#include "base/result.hpp"
#include "kernel/kernel_tree.hpp"
#include "kprobe/perf_probe.hpp"
#include "probes/probe_plan.hpp"

#include <optional>
#include <string>

namespace harness::kprobe {

struct KprobeTreeRequest {
  std::string kernel_build;
  // The tree when the caller has inspected it already (it is then not inspected again).
  std::optional<kernel::KernelTree> tree;
  probes::ProbeSet probes = probes::ProbeSet::status;
  std::optional<probes::LineMap> map_override;
  std::string kernel_spec;
  std::string out_dir;
  std::string name = std::string(kprobe::default_defs_name);
  std::string cache_dir;
  bool use_cache = true;
  LineSink on_progress;
  // Stands in for perf only to inject faults or fixed output in tests (kprobe/perf_probe.hpp).
  PerfRunner runner;
};

struct KprobeTreeResult {
  kprobe::KprobeBuildResult built;
  kernel::KernelTree tree;
  std::string map_note;       // empty when the map is the tree's own source
  std::string map_provenance; // where the tree's af_packet.c came from
};

Result<KprobeTreeResult> kprobe_defs_for_tree(const KprobeTreeRequest& req);

} // namespace harness::kprobe
