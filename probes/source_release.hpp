#pragma once

// Which kernel release an af_packet.c belongs to: the one given, else the Makefile of the kernel
// tree the file sits in (PATH/../../Makefile for PATH = .../net/packet/af_packet.c).

#include "base/result.hpp"

#include <string>

namespace harness::probes {

Result<std::string> release_for_source(const std::string& source_path,
                                       const std::string& given_release);

} // namespace harness::probes
