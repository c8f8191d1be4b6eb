#include "kprobe/kprobe_for_tree.hpp"

#include "kernel/tree_map.hpp"
#include "probes/plan_maker.hpp"

namespace harness::kprobe {

Result<KprobeTreeResult> kprobe_defs_for_tree(const KprobeTreeRequest& req) {
  auto tree = req.tree ? Result<kernel::KernelTree>(*req.tree)
                       : kernel::inspect_kernel_tree(req.kernel_build);
  if (!tree)
    return std::unexpected(tree.error());
  // The cache given to the run is where a tree without its sources finds af_packet.c by build id.
  auto chosen = kernel::map_for_tree(*tree, req.kernel_spec, req.map_override, req.cache_dir);
  if (!chosen)
    return std::unexpected(chosen.error());
  // The plan (anchors, lines, fields); the kprobe builder turns each planned probe into perf's
  // function-relative form.
  auto plan = probes::make_plan(chosen->map, req.probes);
  if (!plan)
    return std::unexpected(plan.error());
  // The plan names the kernel it is for: a Debian kernel's release is not its source's
  // (6.1.0-57-amd64 compiled from 6.1.192). The plan id hashes the probe points only.
  if (!tree->release.empty())
    plan->kernel = tree->release;
  kprobe::KprobeBuildRequest kb;
  kb.vmlinux = tree->vmlinux.empty() ? tree->build_dir + "/vmlinux" : tree->vmlinux;
  kb.release = tree->release;
  kb.build_id = tree->build_id;
  kb.map = chosen->map;
  kb.plan = std::move(*plan);
  kb.out_dir = req.out_dir;
  kb.name = req.name;
  kb.cache_dir = req.cache_dir;
  kb.use_cache = req.use_cache;
  kb.on_progress = req.on_progress;
  kb.runner = req.runner;
  auto built = kprobe::build_kprobe_defs(kb);
  if (!built)
    return std::unexpected(built.error());
  return KprobeTreeResult{std::move(*built), std::move(*tree), chosen->note, chosen->provenance};
}

} // namespace harness::kprobe
