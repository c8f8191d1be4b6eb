#include "harness/cli/tracer_options.hpp"

#include "tracers/tracers.hpp"

namespace harness::cli {
namespace {

// "--module" -> "module": the name in the variables map.
std::string key_of(const tracer::Tracer& t) {
  return std::string(t.artifact_option().substr(2));
}

} // namespace

void add_backend_option(po::options_description& opts, const std::string& help) {
  opts.add_options()("backend", po::value<std::string>()->default_value("auto"),
                     ("tracer: " + help).c_str());
}

void add_prebuilt_options(po::options_description& opts) {
  for (const auto* t : tracers::all())
    opts.add_options()(key_of(*t).c_str(), po::value<std::string>(),
                       std::string(t->artifact_help()).c_str());
}

std::vector<std::string> prebuilt_values(const po::variables_map& vm) {
  std::vector<std::string> values;
  for (const auto* t : tracers::all())
    if (vm.count(key_of(*t)))
      values.push_back(vm[key_of(*t)].as<std::string>());
  return values;
}

Result<TracerPick> tracer_pick(const po::variables_map& vm) {
  const std::string asked = vm.count("backend") ? vm["backend"].as<std::string>() : "auto";
  auto backend = tracers::parse(asked);
  if (!backend)
    return std::unexpected(backend.error());
  TracerPick pick{*backend, {}};
  const tracer::Tracer* owner = nullptr;
  for (const auto* t : tracers::all()) {
    if (!vm.count(key_of(*t)))
      continue;
    if (owner)
      return fail(Exit::usage,
                  std::string(owner->artifact_option()) + " and " +
                      std::string(t->artifact_option()),
                  "exclude each other", "a run uses one tracer");
    owner = t;
    pick.artifact = vm[key_of(*t)].as<std::string>();
  }
  if (!owner)
    return pick;
  if (pick.backend && pick.backend != owner)
    return fail(Exit::usage, "--backend " + asked, "contradicts the prebuilt probes given",
                std::string(owner->artifact_option()) + " is " + std::string(owner->name()) +
                    "'s; drop --backend");
  pick.backend = owner;
  return pick;
}

} // namespace harness::cli
