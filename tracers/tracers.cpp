#include "tracers/tracers.hpp"

#include "kprobe/kprobe_tracer.hpp"
#include "stap/stap_tracer.hpp"

namespace harness::tracers {

const std::vector<const tracer::Tracer*>& all() {
  // The registration: one line per tracer, the preferred first (stap sees variables the kprobe
  // tracer cannot fetch on some kernels, docs/DESIGN.md "Tracers").
  static const std::vector<const tracer::Tracer*> list = {
      &stap::stap_tracer(),
      &kprobe::kprobe_tracer(),
  };
  return list;
}

std::string choices() {
  std::string s = "auto";
  for (const auto* t : all())
    s += "|" + std::string(t->name());
  return s;
}

Result<const tracer::Tracer*> parse(std::string_view text) {
  if (text == "auto")
    return nullptr;
  for (const auto* t : all())
    if (t->name() == text)
      return t;
  std::string names = "auto";
  for (const auto* t : all())
    names += (t == all().back() ? " or " : ", ") + std::string(t->name());
  return fail(Exit::usage, "--backend " + std::string(text.substr(0, 40)), "unknown tracer",
              "use " + names);
}

std::string name_of(const tracer::Tracer* t) {
  return t ? std::string(t->name()) : "auto";
}

const tracer::Tracer* for_artifact(std::string_view path) {
  for (const auto* t : all())
    if (path.ends_with(t->artifact_suffix()))
      return t;
  return nullptr;
}

tracer::BackendFacts gather_facts(const tracer::Machine& m, const tracer::Tools& tools,
                                  const std::string& release, bool in_vm) {
  tracer::BackendFacts f = in_vm ? tracer::BackendFacts{} : tracer::machine_facts(m, release);
  f.kernel_release = release;
  f.in_vm = in_vm;
  for (const auto* t : all())
    f.tool_versions[std::string(t->name())] = t->tool_version(m, tools);
  return f;
}

Result<tracer::BackendChoice> choose(const tracer::Tracer* requested,
                                     const tracer::BackendFacts& facts) {
  return tracer::choose_backend(all(), requested, facts);
}

Result<tracer::BackendChoice> choose_for_tree(const std::string& release,
                                              const tracer::Tracer* requested) {
  const tracer::RealMachine here;
  return choose(requested, gather_facts(here, tracer::Tools{}, release, true));
}

} // namespace harness::tracers
