#include "base/result.hpp"

#include <cstring>

namespace harness {

std::string format_error(const Error& e) {
  std::string out = "harness: " + e.what;
  if (!e.why.empty())
    out += ": " + e.why;
  if (!e.hint.empty())
    out += "\nhint: " + e.hint;
  return out;
}

std::string_view exit_summary(Exit code) {
  switch (code) {
  case Exit::ok:
    return "success";
  case Exit::anomaly:
    return "ran and found something wrong";
  case Exit::usage:
    return "bad option or input";
  case Exit::not_root:
    return "not root";
  case Exit::interface:
    return "interface missing or down";
  case Exit::tool_missing:
    return "stap/staprun/perf missing";
  case Exit::no_debuginfo:
    return "no debuginfo or build tree";
  case Exit::lockdown:
    return "lockdown or module signing";
  case Exit::no_map:
    return "no line map";
  case Exit::tracer_failed:
    return "the tracer failed to build or load the probes";
  case Exit::tracer_timeout:
    return "the tracer never got ready";
  case Exit::unsupported:
    return "the kernel lacks a feature (modules, kprobes, kprobe events, TPACKET_V3 TX)";
  case Exit::vm_failed:
    return "the VM failed";
  case Exit::kernel_build:
    return "preparing or building a kernel failed";
  case Exit::io:
    return "I/O error";
  case Exit::incomplete:
    return "incomplete: the tracer lost records and nothing was wrong in what it saw";
  case Exit::internal:
    return "internal error";
  case Exit::interrupted:
    return "interrupted (partial results kept)";
  }
  return "?";
}

const std::vector<Exit>& all_exits() {
  static const std::vector<Exit> all = {Exit::ok,
                                        Exit::anomaly,
                                        Exit::usage,
                                        Exit::not_root,
                                        Exit::interface,
                                        Exit::tool_missing,
                                        Exit::no_debuginfo,
                                        Exit::lockdown,
                                        Exit::no_map,
                                        Exit::tracer_failed,
                                        Exit::tracer_timeout,
                                        Exit::unsupported,
                                        Exit::vm_failed,
                                        Exit::kernel_build,
                                        Exit::io,
                                        Exit::incomplete,
                                        Exit::internal,
                                        Exit::interrupted};
  return all;
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* s = ::strerror_r(err, buf, sizeof buf);
  return s ? std::string(s) : "errno " + std::to_string(err);
}

} // namespace harness
