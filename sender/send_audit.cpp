#include "sender/send_audit.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

namespace harness::sender {

namespace {

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

std::string u64(std::uint64_t v) {
  return std::to_string(v);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt("%.0f %s", b, units[u]) : fmt("%.1f %s", b, units[u]);
}

// A time as a person reads it: "0.033 ms", "812.4 ms", "14.9 s".
std::string human_duration(double secs) {
  if (secs < 1)
    return fmt(secs * 1e3 < 10 ? "%.3f ms" : "%.1f ms", secs * 1e3);
  return fmt("%.1f s", secs);
}

// A bit rate in its unit: "8.0 kbit/s", "1.2 Gbit/s" (SI prefixes, as link speeds are given).
std::string human_bits(double bits_per_s) {
  const char* units[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s"};
  int u = 0;
  while (bits_per_s >= 1000 && u < 3) {
    bits_per_s /= 1000;
    ++u;
  }
  return u == 0 ? fmt("%.0f %s", bits_per_s, units[u]) : fmt("%.1f %s", bits_per_s, units[u]);
}

std::string counted(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string counter_line(const char* name, std::uint64_t before, std::uint64_t after) {
  const long long delta = static_cast<long long>(after - before);
  return fmt("%s %" PRIu64 " -> %" PRIu64 " (%+lld)", name, before, after, delta);
}

// "3, 5-9, 12" from a sorted list; at most `limit` ranges, then "...".
std::string ranges(std::vector<std::uint64_t> v, std::size_t limit = 8) {
  std::sort(v.begin(), v.end());
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1)
      ++j;
    if (n == limit) {
      out += ", ...";
      break;
    }
    if (!out.empty())
      out += ", ";
    out += j == i ? u64(v[i]) : u64(v[i]) + "-" + u64(v[j]);
    ++n;
    i = j + 1;
  }
  return out;
}

std::uint64_t frames_not_sent(const SendTotals& t) {
  return t.requested > t.sent ? t.requested - t.sent : 0;
}

// What was sent where: the interface, the socket's options and the ring's geometry.
void setup_lines(std::ostringstream& o, const SenderRecord& r) {
  const std::string version = "TPACKET_V" + std::to_string(static_cast<int>(r.version));
  o << "harness send: " << r.totals.requested << " frames of " << r.size << " bytes on "
    << (r.iface.empty() ? "?" : r.iface);
  if (!r.netns.empty())
    o << " (netns " << r.netns << ")";
  o << "\n  " << version << ", " << (r.dgram ? "SOCK_DGRAM" : "SOCK_RAW") << ", qdisc bypass "
    << (r.qdisc_bypass ? "on" : "off") << ", PACKET_LOSS " << (r.loss ? "on" : "off")
    << (r.vnet_hdr ? ", virtio-net header" : "") << ", "
    << (r.sockets > 1 ? std::to_string(r.sockets) + " sockets"
                      : (r.threaded ? "send() thread" : "single thread"))
    << fmt(", run id 0x%08x, pid %d\n", r.run_id, r.pid);

  const auto& g = r.ring;
  const double ring_bytes = static_cast<double>(g.block_size) * g.blocks;
  o << fmt("ring      %u frames x %u bytes, %u per %u-byte block, %u blocks (%s)", g.frames,
           g.frame_size, g.frames_per_block, g.block_size, g.blocks,
           human_bytes(ring_bytes).c_str());
  if (r.sockets > 1)
    o << " x " << r.sockets << " rings";
  o << "\n";
}

// What came of it: frames, bytes, rate, send() calls and the interface's own counters.
void totals_lines(std::ostringstream& o, const SenderRecord& r) {
  const auto& t = r.totals;
  const std::uint64_t not_sent = frames_not_sent(t);
  o << "frames    requested " << t.requested << ", queued " << t.queued << ", sent " << t.sent
    << ", not sent " << not_sent;
  if (t.discarded)
    o << " (" << t.discarded << " malformed, discarded by PACKET_LOSS)";
  o << "\n";
  const double secs = static_cast<double>(t.elapsed_ns) / 1e9;
  o << "bytes     " << t.bytes << " (" << human_bytes(static_cast<double>(t.bytes)) << ")\n";
  if (secs > 0)
    o << "time      " << human_duration(secs) << ", "
      << fmt("%.0f", static_cast<double>(t.sent) / secs) << " frames/s, "
      << human_bits(static_cast<double>(t.bytes) * 8 / secs) << "\n";
  else
    o << "time      0 ms\n";
  o << "send()    " << counted(t.send_calls, "call", "calls") << ", "
    << counted(t.retries, "ENOBUFS/EAGAIN retry", "ENOBUFS/EAGAIN retries") << ", "
    << counted(t.send_errors, "error", "errors") << "\n";
  if (r.before.valid && r.after.valid) {
    o << "iface TX  " << counter_line("packets", r.before.tx_packets, r.after.tx_packets) << ", "
      << counter_line("bytes", r.before.tx_bytes, r.after.tx_bytes) << ", "
      << counter_line("dropped", r.before.tx_dropped, r.after.tx_dropped) << "\n";
  } else {
    o << "iface TX  counters unavailable\n";
  }
}

// Slot audit: the final status of every slot, and the frames that were not given back or never
// queued.
void slot_lines(std::ostringstream& o, const SenderRecord& r) {
  std::map<SlotStatus, std::uint64_t> by_status;
  for (const auto& s : r.slots)
    ++by_status[s.status];
  o << "slots     " << by_status[SlotStatus::available] << " AVAILABLE, "
    << by_status[SlotStatus::send_request] << " SEND_REQUEST, " << by_status[SlotStatus::sending]
    << " SENDING, " << by_status[SlotStatus::wrong_format]
    << " WRONG_FORMAT (status 4, = LOSING on RX rings)";
  if (by_status[SlotStatus::unknown])
    o << ", " << by_status[SlotStatus::unknown] << " UNKNOWN";
  o << "\n";
  std::map<SlotStatus, std::vector<std::uint64_t>> bad_slots;
  for (const auto& s : r.slots)
    if (s.status != SlotStatus::available)
      bad_slots[s.status].push_back(s.index);
  for (const auto& [st, idx] : bad_slots)
    o << "          " << status_name(st) << " at slot" << (idx.size() > 1 ? "s " : " ")
      << ranges(idx) << "\n";

  // Frames that did not come back, by final status.
  std::map<SlotStatus, std::vector<std::uint64_t>> stuck;
  for (const auto& f : r.frames)
    if (f.final_status != SlotStatus::available)
      stuck[f.final_status].push_back(f.seq);
  for (const auto& [st, seqs] : stuck) {
    o << "stranded  " << seqs.size() << " frame" << (seqs.size() > 1 ? "s" : "") << " left in "
      << status_name(st) << ": seq " << ranges(seqs);
    if (st == SlotStatus::send_request)
      o << " (the kernel stops at the first slot that is not SEND_REQUEST)";
    else if (st == SlotStatus::wrong_format)
      o << " (the kernel rejected the frame; without PACKET_LOSS it blocks the ring)";
    o << "\n";
  }
  const auto& t = r.totals;
  if (t.queued < t.requested)
    o << "unqueued  " << (t.requested - t.queued) << " frames were never queued\n";
}

void receiver_lines(std::ostringstream& o, const ReceiverCheck& c) {
  o << "receiver  " << c.iface << ": " << c.received << "/" << c.expected << " frames";
  if (c.ok)
    o << ", in order, sequence numbers and payload bytes match";
  else
    o << fmt(", %" PRIu64 " missing, %" PRIu64 " out of order, %" PRIu64 " duplicates, %" PRIu64
             " bad payload, %" PRIu64 " unexpected",
             c.missing, c.out_of_order, c.duplicates, c.bad_payload, c.unexpected);
  if (c.foreign)
    o << " (" << c.foreign << " unrelated frames ignored)";
  if (c.kernel_drops)
    o << ", " << c.kernel_drops << " dropped by the receive socket";
  o << "\n";
  if (!c.first_problem.empty())
    o << "          first problem: " << c.first_problem << "\n";
}

void verdict_line(std::ostringstream& o, const SenderRecord& r) {
  const auto& t = r.totals;
  const std::uint64_t not_sent = frames_not_sent(t);
  if (r.interrupted)
    o << "verdict   INTERRUPTED: stopped by a signal; the audit above is partial\n";
  else if (all_frames_sent(r))
    o << "verdict   OK: all " << t.requested << " frames sent"
      << (r.receiver ? " and received intact" : "") << "; every slot is AVAILABLE\n";
  else if (r.stalled)
    o << "verdict   FAILED: the ring stopped making progress; " << not_sent << " frames not sent\n";
  else
    o << "verdict   FAILED: " << not_sent << " frames not sent"
      << (r.receiver && !r.receiver->ok ? ", receiver check failed" : "") << "\n";
}

} // namespace

std::string format_audit(const SenderRecord& r) {
  std::ostringstream o;
  setup_lines(o, r);
  totals_lines(o, r);
  slot_lines(o, r);
  if (r.injected.kind != 0)
    o << "injected  -e " << r.injected.kind << " after " << r.injected.after_seq
      << " frames: " << r.injected.outcome << "\n";
  if (r.receiver)
    receiver_lines(o, *r.receiver);
  for (const auto& n : r.notes)
    o << "note      " << n << "\n";

  verdict_line(o, r);
  return o.str();
}

std::string format_frames(const SenderRecord& r) {
  std::ostringstream o;
  const std::int64_t t0 = r.frames.empty() ? 0 : r.frames.front().t_fill_ns;
  const auto rel = [&](std::int64_t t) {
    return t == 0 ? std::string("-") : fmt("%.3f", static_cast<double>(t - t0) / 1e3);
  };
  o << fmt("%10s %6s%s %12s %12s %12s %12s  %s\n", "seq", "slot", r.sockets > 1 ? " ring" : "",
           "fill_us", "request_us", "send_us", "done_us", "final");
  for (const auto& f : r.frames) {
    o << fmt("%10" PRIu64 " %6u", f.seq, f.index);
    if (r.sockets > 1)
      o << fmt(" %4u", f.ring);
    o << fmt(" %12s %12s %12s %12s  %s%s\n", rel(f.t_fill_ns).c_str(), rel(f.t_request_ns).c_str(),
             rel(f.t_send_ns).c_str(), rel(f.t_done_ns).c_str(),
             std::string(status_name(f.final_status)).c_str(), f.malformed ? " (malformed)" : "");
  }
  return o.str();
}

} // namespace harness::sender
