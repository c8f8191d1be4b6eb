#include "kernel/kernel_variant.hpp"

#include "base/json_file.hpp"
#include "base/json_text.hpp"

#include <nlohmann/json.hpp>

namespace harness::kernel {
namespace {

using json = nlohmann::json;

Error bad(std::string_view origin, const std::string& key, const std::string& why) {
  return Error{Exit::usage, std::string(origin) + ": " + key, why,
               "see tests/e2e/zoo/README.md for the variant format"};
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 48)
    return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

std::size_t count_of(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string_view::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

} // namespace

Result<KernelVariant> parse_variant(std::string_view json_text, std::string_view origin) {
  auto parsed = parse_json(json_text);
  if (!parsed)
    return std::unexpected(bad(origin, "(file)", "not JSON: " + parsed.error()));
  const json top = std::move(*parsed);
  const json& j = top.is_object() && top.contains("variant") ? top["variant"] : top;
  if (!j.is_object())
    return std::unexpected(bad(origin, "variant", "expected an object"));
  KernelVariant v;
  for (const auto& [key, value] : j.items())
    if (key != "name" && key != "rationale" && key != "edits")
      return std::unexpected(bad(origin, "variant." + key, "unknown key"));
  if (!j.contains("name") || !j["name"].is_string() || !valid_name(j["name"].get<std::string>()))
    return std::unexpected(bad(origin, "variant.name", "missing, or not 1-48 of [a-z0-9-]"));
  v.name = j["name"].get<std::string>();
  if (!j.contains("rationale") || !j["rationale"].is_string() ||
      j["rationale"].get<std::string>().empty())
    return std::unexpected(bad(origin, "variant.rationale", "missing: say what the edit breaks"));
  v.rationale = j["rationale"].get<std::string>();
  if (!j.contains("edits") || !j["edits"].is_array() || j["edits"].empty())
    return std::unexpected(bad(origin, "variant.edits", "missing or empty"));
  for (std::size_t i = 0; i < j["edits"].size(); ++i) {
    const json& e = j["edits"][i];
    const std::string where = "variant.edits[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("old") || !e["old"].is_string() || !e.contains("new") ||
        !e["new"].is_string())
      return std::unexpected(bad(origin, where, "expected {\"old\": text, \"new\": text}"));
    for (const auto& [key, value] : e.items())
      if (key != "old" && key != "new")
        return std::unexpected(bad(origin, where + "." + key, "unknown key"));
    SourceEdit edit{e["old"].get<std::string>(), e["new"].get<std::string>()};
    if (edit.old_text.empty() || edit.old_text == edit.new_text)
      return std::unexpected(bad(origin, where, "old is empty or equal to new"));
    v.edits.push_back(std::move(edit));
  }
  return v;
}

Result<KernelVariant> load_variant(const std::string& path) {
  return load_json_file(path, parse_variant);
}

Result<std::string> apply_edits(std::string_view text, const KernelVariant& variant,
                                std::string_view origin) {
  std::string out(text);
  for (std::size_t i = 0; i < variant.edits.size(); ++i) {
    const SourceEdit& e = variant.edits[i];
    const std::size_t n = count_of(out, e.old_text);
    if (n != 1)
      return fail(Exit::usage, "variant " + variant.name + " edit " + std::to_string(i),
                  "its old text occurs " + std::to_string(n) + " times in " + std::string(origin) +
                      " (must be exactly once)",
                  "the variant was written for another af_packet.c; update its old text");
    out.replace(out.find(e.old_text), e.old_text.size(), e.new_text);
  }
  return out;
}

std::string variant_key_text(const KernelVariant& variant) {
  std::string s = "variant " + variant.name + "\n";
  for (const auto& e : variant.edits)
    s += "-" + e.old_text + "\n+" + e.new_text + "\n";
  return s;
}

} // namespace harness::kernel
