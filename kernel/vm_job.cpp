#include "vm_job.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

namespace harness::kernel {
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

Result<GuestJob> job_from_json(std::string_view text, std::string_view origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::unexpected(bad(origin, "not a JSON object"));
  if (j.value("schema", "") != job_schema)
    return std::unexpected(bad(origin, "schema is not " + std::string(job_schema)));
  try {
    GuestJob job;
    for (const auto& [k, v] : j.at("env").items()) {
      if (k.empty() || k.find('=') != std::string::npos)
        return std::unexpected(bad(origin, "bad environment variable name '" + k + "'"));
      job.env.emplace_back(k, v.get<std::string>());
    }
    if (!j.at("veth").is_null()) {
      job.veth = true;
      job.veth_names.tx = j["veth"].at("tx").get<std::string>();
      job.veth_names.rx = j["veth"].at("rx").get<std::string>();
      if (!valid_ifname(job.veth_names.tx) || !valid_ifname(job.veth_names.rx) ||
          job.veth_names.tx == job.veth_names.rx)
        return std::unexpected(bad(origin, "bad veth interface names"));
    }
    std::set<std::string> names;
    for (const auto& s : j.at("steps")) {
      GuestStep step;
      step.name = s.at("name").get<std::string>();
      step.argv = s.at("argv").get<std::vector<std::string>>();
      step.background = s.at("background").get<bool>();
      step.ready_text = s.at("ready_text").get<std::string>();
      step.timeout_ms = s.at("timeout_ms").get<int>();
      step.stop_after = s.value("stop_after", "");
      if (!valid_step_name(step.name) || !names.insert(step.name).second)
        return std::unexpected(bad(origin, "bad or duplicate step name '" + step.name + "'"));
      if (step.argv.empty() || step.argv.front().empty())
        return std::unexpected(bad(origin, "step " + step.name + " has no program"));
      if (step.timeout_ms <= 0)
        return std::unexpected(bad(origin, "step " + step.name + " has a timeout <= 0"));
      job.steps.push_back(std::move(step));
    }
    for (const auto& step : job.steps)
      if (!step.stop_after.empty() && (!step.background || !names.count(step.stop_after)))
        return std::unexpected(
            bad(origin, "step " + step.name + ": stop_after must name a step after a background"));
    job.result_step = j.at("result_step").get<std::string>();
    job.echo_output = j.at("echo_output").get<bool>();
    if (!job.result_step.empty() && !names.count(job.result_step))
      return std::unexpected(bad(origin, "result_step '" + job.result_step + "' is not a step"));
    return job;
  } catch (const json::exception& e) {
    return std::unexpected(bad(origin, std::string("malformed: ") + e.what()));
  }
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
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::unexpected(bad(origin, "not a JSON object (the guest stopped while writing it?)"));
  if (j.value("schema", "") != status_schema)
    return std::unexpected(bad(origin, "schema is not " + std::string(status_schema)));
  try {
    GuestStatus st;
    for (const auto& s : j.at("steps")) {
      StepOutcome o;
      o.name = s.at("name").get<std::string>();
      o.exit_code = s.at("exit_code").get<int>();
      o.signal = s.at("signal").get<int>();
      o.timed_out = s.at("timed_out").get<bool>();
      o.started = s.at("started").get<bool>();
      o.ready = s.at("ready").get<bool>();
      o.elapsed_ms = s.at("elapsed_ms").get<long>();
      o.error = s.at("error").get<std::string>();
      st.steps.push_back(std::move(o));
    }
    st.result = j.at("result").get<int>();
    st.error = j.at("error").get<std::string>();
    st.uptime_ms = j.at("uptime_ms").get<long>();
    st.kernel = j.at("kernel").get<std::string>();
    return st;
  } catch (const json::exception& e) {
    return std::unexpected(bad(origin, std::string("malformed: ") + e.what()));
  }
}

} // namespace harness::kernel
