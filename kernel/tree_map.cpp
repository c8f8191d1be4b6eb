#include "kernel/tree_map.hpp"

#include "base/files.hpp"
#include "base/sha1.hpp"
#include "kernel/cache_dir.hpp"
#include "kernel/kernel_source.hpp"
#include "probes/anchors.hpp"
#include "probes/map_store.hpp"
#include "probes/source_map.hpp"

#include <filesystem>

namespace harness::kernel {

Result<TreeMap> map_for_tree(const KernelTree& tree, const std::string& kernel_spec,
                             const std::optional<probes::LineMap>& map_override,
                             const std::string& cache_dir) {
  TreeMap out;
  // Kbuild compiles an af_packet.c in the object tree before the source tree's (VPATH): a
  // bug-zoo variant (kernel_variant.hpp) keeps its edited copy there.
  const std::string in_build = tree.build_dir + "/" + std::string(probes::af_packet_path);
  std::string source_path = tree.build_dir != tree.source_dir && std::filesystem::exists(in_build)
                                ? in_build
                                : tree.source_dir + "/" + std::string(probes::af_packet_path);
  std::optional<std::string> tree_source;
  if (auto text = read_file(source_path)) {
    tree_source = std::move(*text);
    out.provenance = "the build tree's own file " + source_path;
  } else if (!tree.build_id.empty()) {
    // A tree without its sources (an O= directory copied alone): the same file by build id.
    auto query =
        source_query(tree.release, tree.build_dir, tree.build_id, resolve_cache_dir(cache_dir));
    query.debian_version = tree.debian_version;
    auto search = find_kernel_source(query);
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
  }
  if (map_override) {
    out.map = *map_override;
  } else {
    auto maps = probes::load_shipped_maps();
    if (!maps)
      return std::unexpected(maps.error());
    std::optional<probes::KernelSource> source;
    if (tree_source)
      source = probes::KernelSource{source_path, *tree_source};
    auto sel = probes::select_map_for_source(*maps, kernel_spec, tree.release,
                                             source ? &*source : nullptr);
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
