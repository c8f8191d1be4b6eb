#pragma once

#include "result.hpp"
#include "sender_config.hpp"

#include <boost/program_options.hpp>

namespace harness::cli {

namespace po = boost::program_options;

// The sender's options, shared by `harness send` and `harness run` so both accept exactly the
// same spellings: -c/--count (--frames), -s/--size, -b/--frame-size, -n/--ring-frames,
// -z/--sndbuf, -m/--mtu, -j/--send-every, -e/--inject-error, -g/--dgram, -t/--threads,
// -l/--loss, -v/--verbose, --tpacket, --block-size, --qdisc-bypass, --vnet-hdr, --dest,
// --ethertype,
// --veth, --netns, --timeout-ms. The interface is a positional argument named "iface" that each
// command declares itself; --json/--records/--help belong to the commands too.
void add_sender_options(po::options_description& opts);

// Builds a config from parsed options (and the "iface" positional when present), then runs
// sender::validate(). Errors name the option, the value and the limit (Exit::usage).
Result<sender::SenderConfig> sender_config_from(const po::variables_map& vm);

} // namespace harness::cli
