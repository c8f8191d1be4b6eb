#pragma once

// Parsing `stap -L` output, e.g.
//   kernel.statement("tpacket_snd@/src/linux/net/packet/af_packet.c:2989") $po:struct packet_sock*
//   $len_sum:int kernel.function("tpacket_snd@/src/linux/net/packet/af_packet.c:2797") $msg:struct
//   msghdr*
// On an out-of-tree (O=) build the paths are absolute (docs/tracing-notes.md, stap pitfall 5):
// files are matched by suffix. Pure.

#include <string>
#include <string_view>
#include <vector>

namespace harness::stap {

struct ListedVariable {
  std::string name; // without the '$'
  std::string type; // "struct packet_sock*", "long int"
};

struct ListedProbe {
  bool is_function = false; // kernel.function(...) rather than kernel.statement(...)
  std::string function;
  std::string file; // as printed (absolute on O= builds)
  int line = 0;
  std::vector<ListedVariable> variables;
  bool has_variable(std::string_view name) const;
};

// Lines that are not probe listings (warnings, tips) are skipped.
std::vector<ListedProbe> parse_stap_listing(std::string_view text);

// "…/net/packet/af_packet.c" matches "net/packet/af_packet.c" on a path-component boundary.
bool path_has_suffix(std::string_view path, std::string_view suffix);

} // namespace harness::stap
