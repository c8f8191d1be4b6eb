#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/sender_options.hpp"
#include "sender/send_audit.hpp"
#include "sender/send_record_json.hpp"
#include "sender/sender.hpp"

#include <iostream>

namespace harness::cli {
namespace {

constexpr const char* kUsage = "send [options] IFACE\n       harness send --veth [options]";

const std::string kExtra =
    "Fills a PACKET_TX_RING with --count frames (payload header: \"HXTR\", run id, sequence\n"
    "number; then the bytes 0,1,2,...), keeps it moving with send(), then audits every ring\n"
    "slot's final status (AVAILABLE / SEND_REQUEST / SENDING / WRONG_FORMAT; status 4 is\n"
    "WRONG_FORMAT on a TX ring, the value RX rings call LOSING), the interface's TX counters\n"
    "and, with --veth, what the peer received.\n"
    "\n"
    "Fast by default: qdisc bypass, a virtio-net header (the kernel copies each frame into the\n"
    "skb instead of referencing ring pages), 256 small frames; every option given explicitly\n"
    "keeps its packet_mmap.c meaning (-n N alone: N page-sized frames). --classic: "
    "packet_mmap.c's\n"
    "defaults, as `harness run` uses them.\n";

} // namespace

Result<int> cmd_send(const Args& args) {
  po::options_description opts("options");
  // clang-format off
  opts.add_options()
    ("help,h", "show this help")
    ("json", po::bool_switch(), "print the harness.sender/1 JSON record on stdout instead of "
                                "the audit")
    ("records", po::value<std::string>()->value_name("FILE"),
     "also write the harness.sender/1 JSON record to FILE")
    ("classic", po::bool_switch(),
     "packet_mmap.c's defaults for every option not given: the qdisc, zero-copy frames, 8192 "
     "page-sized frames (what `harness run` uses)");
  // clang-format on
  add_sender_options(opts, SenderDefaults::fast);
  po::options_description hidden;
  hidden.add_options()("iface", po::value<std::string>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("iface", 1);

  // Help is printed here so the hidden positional does not show up as an option.
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      print_help("send", kUsage, opts,
                 kExtra + exit_help({{Exit::ok, "every frame sent (and received, with --veth)"},
                                     {Exit::anomaly, "a frame was not sent"},
                                     {Exit::usage},
                                     {Exit::not_root},
                                     {Exit::interface},
                                     {Exit::unsupported, "the kernel lacks the feature (--tpacket "
                                                         "v3 TX)"},
                                     {Exit::io, "I/O or socket failure"},
                                     {Exit::interrupted, "interrupted (partial audit)"}}));
      return 0;
    }
  auto parsed = parse_options(args, "send", kUsage, all, pos);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help)
    return 0;
  auto config =
      sender_config_from(parsed->vm, parsed->vm["classic"].as<bool>() ? SenderDefaults::classic
                                                                      : SenderDefaults::fast);
  if (!config)
    return std::unexpected(config.error());

  // The records file is checked before sending: a run must not end in an unwritable file.
  if (parsed->vm.count("records"))
    if (auto s = check_output_path(parsed->vm["records"].as<std::string>(), "--records"); !s)
      return std::unexpected(s.error());
  install_interrupt_handlers();
  auto report = sender::send_frames(*config);
  if (!report)
    return std::unexpected(report.error());

  const bool json = parsed->vm["json"].as<bool>();
  if (json)
    std::cout << sender::to_json_text(*report, 1);
  else {
    std::cout << sender::format_audit(*report);
    if (config->verbose)
      std::cout << "\n" << sender::format_frames(*report);
  }
  std::cout.flush();

  if (parsed->vm.count("records")) {
    const auto path = parsed->vm["records"].as<std::string>();
    if (auto s = write_file_atomic(path, sender::to_json_text(*report, 1)); !s) {
      auto e = s.error();
      e.hint = "the audit above is complete; only the records file is missing";
      return std::unexpected(e);
    }
  }
  if (report->interrupted)
    return static_cast<int>(Exit::interrupted);
  return sender::all_frames_sent(*report) ? 0 : static_cast<int>(Exit::anomaly);
}

} // namespace harness::cli
