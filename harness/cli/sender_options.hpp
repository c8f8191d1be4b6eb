#pragma once

#include "base/result.hpp"
#include "sender/sender_config.hpp"

#include <boost/program_options.hpp>

namespace harness::cli {

namespace po = boost::program_options;

// The defaults of the options the user did not give: `harness send`'s fast ones
// (sender::with_fast_defaults), or packet_mmap.c's (`harness run`, which keeps one socket and
// the classic path the probes were written for, and `harness send --classic`).
enum class SenderDefaults { fast, classic };

// The sender's options, shared by `harness send` and `harness run` so both accept exactly the
// same spellings: -c/--count (--frames), -s/--size, -b/--frame-size, -n/--ring-frames,
// -z/--sndbuf, -m/--mtu, -j/--send-every, -e/--inject-error, -g/--dgram, -t/--threads,
// -l/--loss, -v/--verbose, --tpacket, --block-size, --qdisc-bypass, --vnet-hdr, --dest,
// --ethertype, --veth, --netns, --timeout-ms. The interface is a positional argument named
// "iface" that each command declares itself; --json/--records/--classic/--help belong to the
// commands. The help texts name the defaults of `defaults`.
void add_sender_options(po::options_description& opts, SenderDefaults defaults);

// Builds a config from parsed options (and the "iface" positional when present), fills in the
// defaults, then runs sender::validate(). Errors name the option, the value and the limit
// (Exit::usage).
Result<sender::SenderConfig> sender_config_from(const po::variables_map& vm,
                                                SenderDefaults defaults);

} // namespace harness::cli
