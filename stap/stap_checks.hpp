#pragma once

// The SystemTap tracer's pre-flight checks and its tool's version, read through the machine
// interface (tracer/machine.hpp) so tests can give a fake machine.

#include "tracer/tracer.hpp"

#include <string>

namespace harness::stap {

void check_stap(const tracer::Machine& m, const tracer::CheckRequest& req, tracer::Checker& c);

// "4.8/0.188" from `stap --version`; "" when stap is not installed, "unknown" when it does not
// say.
std::string stap_version_on(const tracer::Machine& m, const std::string& stap);

} // namespace harness::stap
