#include "kernel/kernel_config.hpp"

#include "base/files.hpp"
#include "kernel/kernel_tree.hpp"

#include <cctype>
#include <map>

namespace harness::kernel {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos)
      nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

bool valid_symbol(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!(std::isupper(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

// The option a .config line sets and its value: "y", "m", "n" (is not set), a string, or "".
std::pair<std::string, std::string> option_of(std::string_view line) {
  constexpr std::string_view unset_prefix = "# CONFIG_";
  constexpr std::string_view unset_suffix = " is not set";
  if (line.starts_with(unset_prefix) && line.ends_with(unset_suffix)) {
    const auto name =
        line.substr(unset_prefix.size(), line.size() - unset_prefix.size() - unset_suffix.size());
    return {std::string(name), "n"};
  }
  if (line.starts_with("CONFIG_")) {
    const auto eq = line.find('=');
    if (eq != std::string_view::npos)
      return {std::string(line.substr(7, eq - 7)), std::string(line.substr(eq + 1))};
  }
  return {};
}

std::string render(const ConfigOption& o) {
  return o.enabled ? "CONFIG_" + o.name + "=y" : "# CONFIG_" + o.name + " is not set";
}

} // namespace

Result<std::vector<ConfigOption>> parse_config_fragment(std::string_view text,
                                                        std::string_view origin) {
  std::vector<ConfigOption> out;
  int n = 0;
  for (auto line : lines_of(text)) {
    ++n;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
      line.remove_suffix(1);
    auto [name, value] = option_of(line);
    if (name.empty()) {
      if (line.empty() || line.starts_with("#"))
        continue;
      return fail(Exit::usage, std::string(origin) + ":" + std::to_string(n),
                  "not a config line: '" + std::string(line) + "'",
                  "use CONFIG_X=y or # CONFIG_X is not set");
    }
    if (!valid_symbol(name) || (value != "y" && value != "n"))
      return fail(Exit::usage, std::string(origin) + ":" + std::to_string(n),
                  "only CONFIG_X=y and disabled options are supported: '" + std::string(line) +
                      "'");
    out.push_back({name, value == "y"});
  }
  return out;
}

std::string merge_config(std::string_view config, const std::vector<ConfigOption>& fragment) {
  std::map<std::string, const ConfigOption*> wanted;
  for (const auto& o : fragment)
    wanted[o.name] = &o;
  std::string out;
  std::map<std::string, bool> done;
  for (auto line : lines_of(config)) {
    auto [name, value] = option_of(line);
    if (auto it = wanted.find(name); !name.empty() && it != wanted.end()) {
      if (done[name])
        continue; // a duplicate line of an option we set
      out += render(*it->second) + "\n";
      done[name] = true;
      continue;
    }
    out += std::string(line) + "\n";
  }
  for (const auto& o : fragment)
    if (!done[o.name]) {
      out += render(o) + "\n";
      done[o.name] = true;
    }
  return out;
}

std::vector<ConfigOption> unmet_options(std::string_view config,
                                        const std::vector<ConfigOption>& fragment) {
  std::map<std::string, std::string> values;
  for (auto line : lines_of(config))
    if (auto [name, value] = option_of(line); !name.empty())
      values[name] = value;
  std::vector<ConfigOption> out;
  for (const auto& o : fragment) {
    const auto it = values.find(o.name);
    const std::string v = it == values.end() ? "n" : it->second;
    if (o.enabled ? v != "y" : (v == "y" || v == "m"))
      out.push_back(o);
  }
  return out;
}

MakefileEdit add_af_packet_O0(std::string_view makefile) {
  if (makefile_sets_af_packet_O0(makefile))
    return {std::string(makefile), false};
  std::string text(makefile);
  if (!text.empty() && text.back() != '\n')
    text += '\n';
  text += "# harness: keep tpacket_snd and the status helpers real, probeable functions\n";
  text += std::string(af_packet_O0_line) + "\n";
  return {text, true};
}

std::string fragment_path() {
  return data_dir() + "/kernel/probe-kernel.config";
}

} // namespace harness::kernel
