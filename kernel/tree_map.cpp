#include "kernel/tree_map.hpp"

#include "base/files.hpp"
#include "base/sha1.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_source.hpp"
#include "kernel/line_map_select.hpp"
#include "probes/anchors.hpp"
#include "probes/map_store.hpp"
#include "probes/source_map.hpp"

namespace harness::kernel {

namespace {

// The search for a tree's own af_packet.c (kernel_source.hpp step 1, then by its build id).
// Without a build id only the tree is looked at: its vmlinux note is not read again here.
SourceQuery tree_source_query(const KernelTree& tree, const std::string& cache_dir) {
  SourceQuery q;
  q.release = tree.release;
  q.build_dir = tree.build_dir;
  q.source_dir = tree.source_dir;
  q.any_tree_file = true;
  if (tree.build_id.empty())
    return q;
  q = source_query(tree.release, tree.build_dir, tree.build_id, resolve_cache_dir(cache_dir));
  q.source_dir = tree.source_dir;
  q.any_tree_file = true;
  q.debian_version = tree.debian_version;
  return q;
}

} // namespace

Result<TreeMap> map_for_tree(const KernelTree& tree, const std::string& kernel_spec,
                             const std::optional<probes::LineMap>& map_override,
                             const std::string& cache_dir) {
  TreeMap out;
  std::string source_path;
  std::optional<std::string> tree_source;
  auto search = find_kernel_source(tree_source_query(tree, cache_dir));
  if (search.found) {
    source_path = search.found->source.path;
    tree_source = std::move(search.found->source.text);
    out.provenance = std::move(search.found->provenance);
  } else if (search.proven_map && !map_override) {
    auto sel = proven_selection(*search.proven_map, tree.build_id, tree.release);
    out.map = std::move(sel.entry.map);
    out.provenance = std::move(sel.provenance);
    return out;
  }
  if (map_override) {
    out.map = *map_override;
  } else {
    std::optional<probes::KernelSource> source;
    if (tree_source)
      source = probes::KernelSource{source_path, *tree_source};
    auto sel = select_line_map({.kernel_spec = kernel_spec,
                                .release = tree.release,
                                .source = source ? &*source : nullptr});
    if (!sel)
      return std::unexpected(sel.error());
    out.map = std::move(sel->entry.map);
    out.note = std::move(sel->note);
  }
  const bool same = tree_source && sha1_hex(*tree_source) == out.map.source_sha1;
  if (tree_source && !same && out.note.empty())
    out.note = "the tree's " + std::string(probes::af_packet_path) +
               " is not the map's source (sha1 differs): lines may have drifted, check with "
               "`harness drift --source " +
               source_path + "`";
  if (same)
    out.source = std::move(tree_source);
  else
    out.provenance.clear();
  return out;
}

} // namespace harness::kernel
