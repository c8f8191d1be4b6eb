#include "harness/cli/sender_options.hpp"

#include <charconv>
#include <limits>

namespace harness::cli {
namespace {

// Numbers are taken as text and converted here so that "-5", "abc" or "99999999999999999999"
// get an error naming the option, not a wrapped-around unsigned value.
Result<std::int64_t> integer(const po::variables_map& vm, const char* name, std::int64_t def,
                             bool allow_hex = false) {
  if (!vm.count(name))
    return def;
  const std::string text = vm[name].as<std::string>();
  std::string_view s = text;
  int base = 10;
  if (allow_hex && (s.starts_with("0x") || s.starts_with("0X"))) {
    s.remove_prefix(2);
    base = 16;
  }
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec == std::errc::result_out_of_range)
    return fail(Exit::usage, "--" + std::string(name) + " " + text, "is out of range",
                "give a number below " + std::to_string(std::numeric_limits<std::int64_t>::max()));
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
    return fail(Exit::usage, "--" + std::string(name) + " " + text, "is not a whole number",
                allow_hex ? "write it in decimal or as 0x..." : "write it in decimal");
  return v;
}

} // namespace

void add_sender_options(po::options_description& opts, SenderDefaults defaults) {
  const bool fast = defaults == SenderDefaults::fast;
  const std::string ring = std::to_string(fast ? sender::kFastRingFrames : 8192);
  const char* frame_size =
      fast ? "ring frame size, a multiple of 16 (default: the smallest power of two holding the "
             "frame, at most the page size; the page size when -n is given)"
           : "ring frame size, a multiple of 16 (default: the page size)";
  const char* qdisc = fast ? "PACKET_QDISC_BYPASS: skip the qdisc layer (the default; "
                             "--classic: off)"
                           : "PACKET_QDISC_BYPASS: skip the qdisc layer";
  const char* vnet =
      fast ? "PACKET_VNET_HDR with a header covering the whole frame: the kernel copies each frame "
             "instead of referencing ring pages (the default when it fits the frame and not "
             "--dgram; --classic: off; faster on veth; SOCK_RAW; Linux 4.10+)"
           : "PACKET_VNET_HDR with a header covering the whole frame: the kernel copies each frame "
             "instead of referencing ring pages (faster on veth; SOCK_RAW; Linux 4.10+)";
  // clang-format off
  opts.add_options()
    ("count,c", po::value<std::string>()->value_name("N"),
     "frames to send (default 1000)")
    ("frames", po::value<std::string>()->value_name("N"), "same as --count")
    ("size,s", po::value<std::string>()->value_name("BYTES"),
     "packet data per frame, tp_len (default 150; with SOCK_RAW it includes the 14-byte "
     "Ethernet header)")
    ("frame-size,b", po::value<std::string>()->value_name("BYTES"), frame_size)
    ("ring-frames,n", po::value<std::string>()->value_name("N"),
     ("frames in the ring (default " + ring + ")").c_str())
    ("block-size", po::value<std::string>()->value_name("BYTES"),
     "ring block size, a multiple of the page size holding one or more frames (default: the "
     "frame size rounded up to the page size)")
    ("sndbuf,z", po::value<std::string>()->value_name("BYTES"), "SO_SNDBUF (default: kernel's)")
    ("mtu,m", po::value<std::string>()->value_name("BYTES"),
     "set the interface MTU first (restored at the end)")
    ("send-every,j", po::value<std::string>()->value_name("N"),
     "call send() after every N frames (default: when the ring is full; packet_mmap.c's "
     "-j MASK is N = MASK+1)")
    ("inject-error,e", po::value<std::string>()->value_name("1|2"),
     "half-way: 1 close() the socket, 2 set PACKET_TX_RING again")
    ("dgram,g", po::bool_switch(), "SOCK_DGRAM: the kernel builds the link header")
    ("threads,t", po::bool_switch(), "a second thread calls blocking send() while this one fills")
    ("sockets", po::value<std::string>()->value_name("N"),
     "N sockets with a ring and a thread each share the frames (use N CPUs; order is kept "
     "per socket only)")
    ("loss,l", po::bool_switch(), "PACKET_LOSS: the kernel skips malformed frames")
    ("verbose,v", po::bool_switch(), "print every frame's record after the audit")
    ("tpacket", po::value<std::string>()->value_name("v1|v2|v3"),
     "frame header version (default v2)")
    ("qdisc-bypass", po::bool_switch(), qdisc)
    ("vnet-hdr", po::bool_switch(), vnet)
    ("dest", po::value<std::string>()->value_name("MAC"),
     "destination MAC (default ff:ff:ff:ff:ff:ff)")
    ("ethertype", po::value<std::string>()->value_name("TYPE"),
     "EtherType (default 0x88b5, local experimental)")
    ("veth", po::bool_switch(),
     "send on a throwaway network namespace + veth pair and verify every frame on the peer")
    ("tbf-rate", po::value<std::string>()->value_name("RATE"),
     "with --veth: a tbf qdisc of RATE (e.g. 100kbit) holds frames in flight, one by one")
    ("netns", po::value<std::string>()->value_name("NAME|PATH"),
     "open the socket inside this network namespace")
    ("timeout-ms", po::value<std::string>()->value_name("MS"),
     "bound on every wait for the kernel (default 5000)");
  // clang-format on
}

namespace {

// The numbers: --count (--frames), the sizes, --inject-error, --timeout-ms, --ethertype.
Status take_numbers(const po::variables_map& vm, sender::SenderConfig& c) {
  const auto get = [&](const char* name, std::int64_t& field, bool hex = false) -> Status {
    auto v = integer(vm, name, field, hex);
    if (!v)
      return std::unexpected(v.error());
    field = *v;
    return {};
  };
  if (vm.count("count") && vm.count("frames") &&
      vm["count"].as<std::string>() != vm["frames"].as<std::string>())
    return fail(Exit::usage, "--count and --frames", "both given, with different values",
                "they are the same option; give one");
  if (auto s = get(vm.count("frames") ? "frames" : "count", c.count); !s)
    return std::unexpected(s.error());
  for (auto [name, field] : {std::pair{"size", &c.size},
                             {"frame-size", &c.frame_size},
                             {"ring-frames", &c.ring_frames},
                             {"block-size", &c.block_size},
                             {"sndbuf", &c.sndbuf},
                             {"mtu", &c.mtu},
                             {"send-every", &c.send_every},
                             {"sockets", &c.sockets}})
    if (auto s = get(name, *field); !s)
      return std::unexpected(s.error());
  std::int64_t inject = 0;
  if (auto s = get("inject-error", inject); !s)
    return std::unexpected(s.error());
  if (inject < 0 || inject > 2)
    return fail(Exit::usage, "--inject-error " + std::to_string(inject), "must be 1 or 2",
                "1 closes the socket half-way, 2 sets PACKET_TX_RING again half-way");
  c.inject_error = static_cast<int>(inject);
  std::int64_t timeout = c.completion_timeout.count();
  if (auto s = get("timeout-ms", timeout); !s)
    return std::unexpected(s.error());
  c.completion_timeout = std::chrono::milliseconds(timeout);
  std::int64_t ethertype = c.ethertype;
  if (auto s = get("ethertype", ethertype, true); !s)
    return std::unexpected(s.error());
  if (ethertype < 0 || ethertype > 0xffff)
    return fail(Exit::usage, "--ethertype " + vm["ethertype"].as<std::string>(),
                "an EtherType is 16 bits (0x0600 to 0xffff)", "e.g. --ethertype 0x88b5");
  c.ethertype = static_cast<std::uint16_t>(ethertype);
  return {};
}

void take_switches(const po::variables_map& vm, sender::SenderConfig& c) {
  c.dgram = vm["dgram"].as<bool>();
  c.threaded = vm["threads"].as<bool>();
  c.loss = vm["loss"].as<bool>();
  c.verbose = vm["verbose"].as<bool>();
  c.qdisc_bypass = vm["qdisc-bypass"].as<bool>();
  c.vnet_hdr = vm["vnet-hdr"].as<bool>();
  c.veth = vm["veth"].as<bool>();
}

// The options written as text: --tpacket, --dest, --tbf-rate, --netns, and IFACE.
Status take_texts(const po::variables_map& vm, sender::SenderConfig& c) {
  if (vm.count("tpacket")) {
    const auto text = vm["tpacket"].as<std::string>();
    auto v = sender::parse_tpacket_version(text);
    if (!v)
      return fail(Exit::usage, "--tpacket " + text, "unknown TPACKET version", "use v1, v2 or v3");
    c.version = *v;
  }
  if (vm.count("dest")) {
    const auto text = vm["dest"].as<std::string>();
    auto mac = sender::parse_mac(text);
    if (!mac)
      return fail(Exit::usage, "--dest " + text, "not a MAC address",
                  "write it as six hex bytes, e.g. 02:00:00:00:00:01");
    c.dest_mac = *mac;
  }
  if (vm.count("tbf-rate")) {
    const auto text = vm["tbf-rate"].as<std::string>();
    auto rate = sender::parse_bit_rate(text);
    if (!rate)
      return fail(Exit::usage, "--tbf-rate " + text, "not a rate",
                  "write it as a number and bit, kbit, mbit or gbit, e.g. 100kbit");
    c.tbf_rate = *rate;
  }
  if (vm.count("netns")) {
    const auto text = vm["netns"].as<std::string>();
    if (text.empty())
      return fail(Exit::usage, "--netns", "empty", "give a namespace name or path");
    c.netns_path = text.find('/') == std::string::npos ? "/run/netns/" + text : text;
  }
  if (vm.count("iface"))
    c.iface = vm["iface"].as<std::string>();
  return {};
}

} // namespace

Result<sender::SenderConfig> sender_config_from(const po::variables_map& vm,
                                                SenderDefaults defaults) {
  sender::SenderConfig c;
  if (auto s = take_numbers(vm, c); !s)
    return std::unexpected(s.error());
  take_switches(vm, c);
  if (auto s = take_texts(vm, c); !s)
    return std::unexpected(s.error());
  if (defaults == SenderDefaults::fast)
    c = sender::with_fast_defaults(c,
                                   sender::GivenOptions{.frame_size = vm.count("frame-size") > 0,
                                                        .block_size = vm.count("block-size") > 0,
                                                        .ring_frames = vm.count("ring-frames") > 0,
                                                        .qdisc_bypass = c.qdisc_bypass,
                                                        .vnet_hdr = c.vnet_hdr});
  if (auto s = sender::validate(c); !s)
    return std::unexpected(s.error());
  return c;
}

} // namespace harness::cli
