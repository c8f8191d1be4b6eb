#include "vm/vm_job.hpp"

#include "base/json_reader.hpp"
#include "base/json_text.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

namespace harness::vm {
namespace {

using json = nlohmann::json;

Error bad(std::string_view origin, std::string why) {
  return Error{Exit::vm_failed, std::string(origin), std::move(why),
               "the job and status files are written by harness itself; was the share edited?"};
}

} // namespace

bool valid_step_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return name.front() != '.';
}

bool valid_ifname(std::string_view name) {
  // IFNAMSIZ is 16 including the terminator.
  if (name.empty() || name.size() > 15)
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

std::string job_to_json(const GuestJob& job) {
  json j;
  j["schema"] = job_schema;
  json env = json::object();
  for (const auto& [k, v] : job.env)
    env[k] = v;
  j["env"] = env;
  j["veth"] = job.veth ? json{{"tx", job.veth_names.tx}, {"rx", job.veth_names.rx}} : json(nullptr);
  json steps = json::array();
  for (const auto& s : job.steps)
    steps.push_back({{"name", s.name},
                     {"argv", s.argv},
                     {"background", s.background},
                     {"ready_text", s.ready_text},
                     {"timeout_ms", s.timeout_ms},
                     {"stop_after", s.stop_after}});
  j["steps"] = steps;
  j["result_step"] = job.result_step;
  j["echo_output"] = job.echo_output;
  return j.dump(2) + "\n";
}

namespace {

// The job and status files' policy over the strict reader (base/json_reader.hpp): every
// key is required; values are taken as written (argv words, names are checked afterwards).
JsonReader file_reader(std::string_view origin) {
  return JsonReader([o = std::string(origin)](const std::string& field, const std::string& why) {
    return bad(o, field + ": " + why);
  });
}

Result<json> parse_object(std::string_view text, std::string_view origin, std::string_view schema,
                          std::string_view not_object) {
  auto parsed = parse_json(text);
  if (!parsed || !parsed->is_object())
    return std::unexpected(
        bad(origin, std::string(not_object) + (parsed ? std::string() : ": " + parsed.error())));
  json j = std::move(*parsed);
  if (auto it = j.find("schema"); it == j.end() || !it->is_string() || *it != schema)
    return std::unexpected(bad(origin, "schema is not " + std::string(schema)));
  return j;
}

std::string raw(JsonReader& rd, const json& obj, std::string_view key, const std::string& path) {
  const json* v = rd.member(obj, key, path, true);
  return v ? rd.raw_text(*v, path + std::string(key)).value_or(std::string()) : std::string();
}

template <class T>
T required(JsonReader& rd, const json& obj, std::string_view key, const std::string& path) {
  T out{};
  if constexpr (std::is_same_v<T, bool>) {
    if (const json* v = rd.member(obj, key, path, true))
      out = rd.boolean(*v, path + std::string(key)).value_or(false);
  } else {
    if (const json* v = rd.member(obj, key, path, true))
      out = rd.integer<T>(*v, path + std::string(key)).value_or(T{});
  }
  return out;
}

Result<GuestStep> step_from_json(JsonReader& rd, const json& s, const std::string& path) {
  GuestStep step;
  step.name = raw(rd, s, "name", path);
  if (const json* argv = rd.array(s, "argv", path))
    for (const auto& w : *argv)
      step.argv.push_back(rd.raw_text(w, path + "argv[]").value_or(std::string()));
  step.background = required<bool>(rd, s, "background", path);
  step.ready_text = raw(rd, s, "ready_text", path);
  step.timeout_ms = required<int>(rd, s, "timeout_ms", path);
  if (rd.member(s, "stop_after", path, false))
    step.stop_after = raw(rd, s, "stop_after", path);
  if (!rd.ok())
    return std::unexpected(rd.error());
  return step;
}

} // namespace

Result<GuestJob> job_from_json(std::string_view text, std::string_view origin) {
  auto parsed = parse_object(text, origin, job_schema, "not a JSON object");
  if (!parsed)
    return std::unexpected(parsed.error());
  const json& j = *parsed;
  JsonReader rd = file_reader(origin);
  GuestJob job;
  if (const json* env = rd.object(j, "env", ""))
    for (const auto& [k, v] : env->items()) {
      if (k.empty() || k.find('=') != std::string::npos)
        return std::unexpected(bad(origin, "bad environment variable name '" + k + "'"));
      job.env.emplace_back(k, rd.raw_text(v, "env." + k).value_or(std::string()));
    }
  if (const json* veth = rd.member(j, "veth", "", false)) {
    job.veth = true;
    job.veth_names.tx = raw(rd, *veth, "tx", "veth.");
    job.veth_names.rx = raw(rd, *veth, "rx", "veth.");
    if (rd.ok() && (!valid_ifname(job.veth_names.tx) || !valid_ifname(job.veth_names.rx) ||
                    job.veth_names.tx == job.veth_names.rx))
      return std::unexpected(bad(origin, "bad veth interface names"));
  } else if (!j.contains("veth")) {
    rd.fail("veth", "missing");
  }
  std::set<std::string> names;
  if (const json* steps = rd.array(j, "steps", ""))
    for (std::size_t i = 0; i < steps->size() && rd.ok(); ++i) {
      auto step = step_from_json(rd, (*steps)[i], "steps[" + std::to_string(i) + "].");
      if (!step)
        return std::unexpected(step.error());
      if (!valid_step_name(step->name) || !names.insert(step->name).second)
        return std::unexpected(bad(origin, "bad or duplicate step name '" + step->name + "'"));
      if (step->argv.empty() || step->argv.front().empty())
        return std::unexpected(bad(origin, "step " + step->name + " has no program"));
      if (step->timeout_ms <= 0)
        return std::unexpected(bad(origin, "step " + step->name + " has a timeout <= 0"));
      job.steps.push_back(std::move(*step));
    }
  job.result_step = raw(rd, j, "result_step", "");
  job.echo_output = required<bool>(rd, j, "echo_output", "");
  if (!rd.ok())
    return std::unexpected(rd.error());
  for (const auto& step : job.steps)
    if (!step.stop_after.empty() && (!step.background || !names.count(step.stop_after)))
      return std::unexpected(
          bad(origin, "step " + step.name + ": stop_after must name a step after a background"));
  if (!job.result_step.empty() && !names.count(job.result_step))
    return std::unexpected(bad(origin, "result_step '" + job.result_step + "' is not a step"));
  return job;
}

std::string status_to_json(const GuestStatus& st) {
  json steps = json::array();
  for (const auto& s : st.steps)
    steps.push_back({{"name", s.name},
                     {"exit_code", s.exit_code},
                     {"signal", s.signal},
                     {"timed_out", s.timed_out},
                     {"started", s.started},
                     {"ready", s.ready},
                     {"elapsed_ms", s.elapsed_ms},
                     {"error", s.error}});
  json j{{"schema", status_schema},   {"steps", steps},
         {"result", st.result},       {"error", st.error},
         {"uptime_ms", st.uptime_ms}, {"kernel", st.kernel}};
  return j.dump(2) + "\n";
}

Result<GuestStatus> status_from_json(std::string_view text, std::string_view origin) {
  auto parsed = parse_object(text, origin, status_schema,
                             "not a JSON object (the guest stopped while writing it?)");
  if (!parsed)
    return std::unexpected(parsed.error());
  const json& j = *parsed;
  JsonReader rd = file_reader(origin);
  GuestStatus st;
  if (const json* steps = rd.array(j, "steps", ""))
    for (std::size_t i = 0; i < steps->size() && rd.ok(); ++i) {
      const json& s = (*steps)[i];
      const std::string path = "steps[" + std::to_string(i) + "].";
      StepOutcome o;
      o.name = raw(rd, s, "name", path);
      o.exit_code = required<int>(rd, s, "exit_code", path);
      o.signal = required<int>(rd, s, "signal", path);
      o.timed_out = required<bool>(rd, s, "timed_out", path);
      o.started = required<bool>(rd, s, "started", path);
      o.ready = required<bool>(rd, s, "ready", path);
      o.elapsed_ms = required<long>(rd, s, "elapsed_ms", path);
      o.error = raw(rd, s, "error", path);
      st.steps.push_back(std::move(o));
    }
  st.result = required<int>(rd, j, "result", "");
  st.error = raw(rd, j, "error", "");
  st.uptime_ms = required<long>(rd, j, "uptime_ms", "");
  st.kernel = raw(rd, j, "kernel", "");
  if (!rd.ok())
    return std::unexpected(rd.error());
  return st;
}

} // namespace harness::vm
