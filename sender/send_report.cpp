#include "send_report.hpp"

#include "json_reader.hpp"
#include "printable.hpp"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <linux/if_packet.h>
#include <map>
#include <net/if.h>
#include <sstream>
#include <unordered_set>

namespace harness::sender {

SlotStatus classify_status(std::uint32_t raw) {
  // Bits 29-31 are timestamp sources the destructor may OR into AVAILABLE.
  const std::uint32_t s = raw & ~(TP_STATUS_TS_SOFTWARE | TP_STATUS_TS_SYS_HARDWARE |
                                  static_cast<std::uint32_t>(TP_STATUS_TS_RAW_HARDWARE));
  switch (s) {
  case TP_STATUS_AVAILABLE:
    return SlotStatus::available;
  case TP_STATUS_SEND_REQUEST:
    return SlotStatus::send_request;
  case TP_STATUS_SENDING:
    return SlotStatus::sending;
  case TP_STATUS_WRONG_FORMAT:
    return SlotStatus::wrong_format;
  default:
    return SlotStatus::unknown;
  }
}

std::string_view status_name(SlotStatus s) {
  switch (s) {
  case SlotStatus::available:
    return "AVAILABLE";
  case SlotStatus::send_request:
    return "SEND_REQUEST";
  case SlotStatus::sending:
    return "SENDING";
  case SlotStatus::wrong_format:
    return "WRONG_FORMAT";
  case SlotStatus::unknown:
    return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<SlotStatus> parse_status_name(std::string_view name) {
  for (auto s : {SlotStatus::available, SlotStatus::send_request, SlotStatus::sending,
                 SlotStatus::wrong_format, SlotStatus::unknown})
    if (status_name(s) == name)
      return s;
  // RX rings call bit 2 LOSING; accept it so hand-written records read back.
  if (name == "LOSING")
    return SlotStatus::wrong_format;
  return std::nullopt;
}

namespace {

nlohmann::json counters_json(const IfaceCounters& c) {
  if (!c.valid)
    return nullptr;
  return {{"tx_packets", c.tx_packets}, {"tx_bytes", c.tx_bytes}, {"tx_dropped", c.tx_dropped}};
}

} // namespace

std::string to_json_text(const SendReport& r, int indent) {
  return to_json(r).dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json to_json(const SendReport& r) {
  using nlohmann::json;
  json frames = json::array();
  for (const auto& f : r.frames) {
    json jf = {{"seq", f.seq},
               {"index", f.index},
               {"t_fill_ns", f.t_fill_ns},
               {"t_request_ns", f.t_request_ns},
               {"t_send_ns", f.t_send_ns},
               {"t_done_ns", f.t_done_ns},
               {"final", status_name(f.final_status)}};
    if (r.sockets > 1)
      jf["ring"] = f.ring;
    if (f.malformed)
      jf["malformed"] = true;
    frames.push_back(std::move(jf));
  }
  json slots = json::array();
  for (const auto& s : r.slots) {
    json js = {{"index", s.index}, {"status", status_name(s.status)}, {"raw", s.raw}};
    if (r.sockets > 1)
      js["ring"] = s.ring;
    slots.push_back(std::move(js));
  }
  json j = {
      {"schema", kSenderSchema},
      {"run_id", r.run_id},
      {"pid", r.pid},
      {"iface", r.iface},
      {"tpacket", static_cast<int>(r.version)},
      {"socket", r.dgram ? "dgram" : "raw"},
      {"ring",
       {{"frames", r.ring.frames},
        {"frame_size", r.ring.frame_size},
        {"block_size", r.ring.block_size},
        {"frames_per_block", r.ring.frames_per_block},
        {"blocks", r.ring.blocks}}},
      {"frames", std::move(frames)},
      {"slots", std::move(slots)},
      {"totals",
       {{"requested", r.totals.requested},
        {"sent", r.totals.sent},
        {"bytes", r.totals.bytes},
        {"elapsed_ns", r.totals.elapsed_ns},
        {"send_calls", r.totals.send_calls},
        {"retries", r.totals.retries},
        {"queued", r.totals.queued},
        {"discarded", r.totals.discarded},
        {"send_errors", r.totals.send_errors}}},
      {"iface_counters", {{"before", counters_json(r.before)}, {"after", counters_json(r.after)}}},
      // Additions to the documented shape.
      {"netns", r.netns},
      {"size", r.size},
      {"sockets", r.sockets},
      {"qdisc_bypass", r.qdisc_bypass},
      {"vnet_hdr", r.vnet_hdr},
      {"loss", r.loss},
      {"threaded", r.threaded},
      {"interrupted", r.interrupted},
      {"stalled", r.stalled},
      {"notes", r.notes},
  };
  if (r.injected.kind != 0)
    j["injected_error"] = {{"kind", r.injected.kind},
                           {"after_seq", r.injected.after_seq},
                           {"outcome", r.injected.outcome}};
  if (r.receiver) {
    const auto& c = *r.receiver;
    j["receiver"] = {{"iface", c.iface},
                     {"expected", c.expected},
                     {"received", c.received},
                     {"foreign", c.foreign},
                     {"out_of_order", c.out_of_order},
                     {"duplicates", c.duplicates},
                     {"missing", c.missing},
                     {"bad_payload", c.bad_payload},
                     {"unexpected", c.unexpected},
                     {"kernel_drops", c.kernel_drops},
                     {"first_problem", c.first_problem},
                     {"ok", c.ok}};
  }
  return j;
}

namespace {

// The sender record's policy over the strict reader (harness/util/json_reader.hpp): keys are
// required unless the call says otherwise; problems name "sender record FIELD".
struct Reader {
  std::string where;
  JsonReader jr{[](const std::string& field, const std::string& why) {
    return Error{Exit::usage, "sender record " + field, why,
                 "the file must be a harness.sender/1 record written by `harness send "
                 "--records`"};
  }};
  bool failed = false;
  Error error;

  const nlohmann::json* at(const nlohmann::json& j, const char* key, bool required = true) {
    if (failed)
      return nullptr;
    if (!j.is_object() || !j.contains(key)) {
      if (required)
        set(std::string(key), "missing");
      return nullptr;
    }
    return &j[key];
  }
  void set(const std::string& key, const std::string& why) {
    jr.fail(where + key, why);
    sync();
  }
  template <class T>
  void num(const nlohmann::json& j, const char* key, T& out, bool required = true) {
    if (const auto* v = at(j, key, required))
      if (auto n = jr.integer<T>(*v, where + key))
        out = *n;
    sync();
  }
  void boolean(const nlohmann::json& j, const char* key, bool& out) {
    if (const auto* v = at(j, key, false))
      if (auto b = jr.boolean(*v, where + key))
        out = *b;
    sync();
  }
  void text(const nlohmann::json& j, const char* key, std::string& out, bool required = true,
            std::size_t max_len = kMaxDataString) {
    if (const auto* v = at(j, key, required))
      if (auto t = jr.text(*v, where + key, max_len))
        out = std::move(*t); // printable: no terminal escape sequence from a data file
    sync();
  }
  void status(const nlohmann::json& j, const char* key, SlotStatus& out) {
    std::string s;
    text(j, key, s);
    if (failed)
      return;
    if (auto st = parse_status_name(s))
      out = *st;
    else
      set(key, "'" + s +
                   "' is not a slot status (AVAILABLE, SEND_REQUEST, SENDING, "
                   "WRONG_FORMAT, UNKNOWN)");
  }

private:
  void sync() {
    if (!jr.ok() && !failed) {
      failed = true;
      error = jr.error();
    }
  }
};

void read_counters(Reader& rd, const nlohmann::json& j, IfaceCounters& c) {
  if (j.is_null())
    return;
  c.valid = true;
  rd.num(j, "tx_packets", c.tx_packets);
  rd.num(j, "tx_bytes", c.tx_bytes);
  rd.num(j, "tx_dropped", c.tx_dropped);
}

Status bad(const std::string& key, const std::string& why) {
  return fail(Exit::usage, "sender record " + key, why,
              "the file must be a harness.sender/1 record written by `harness send --records`");
}

// What the types alone do not say: the geometry of a real ring, frames inside it, each
// sequence number once (docs/DESIGN.md, "Sender records").
Status check_consistency(const SendReport& r) {
  const RingGeometry& g = r.ring;
  if (r.pid < 0)
    return bad("pid", std::to_string(r.pid) + " is negative");
  if (g.frames == 0 || g.frames > kMaxRingFrames)
    return bad("ring.frames", std::to_string(g.frames) + " is out of range (1.." +
                                  std::to_string(kMaxRingFrames) + ")");
  if (g.frame_size == 0 || g.block_size == 0 || g.frames_per_block == 0)
    return bad("ring", "frame_size, block_size and frames_per_block must be positive");
  if (g.frame_size > g.block_size)
    return bad("ring.frame_size", std::to_string(g.frame_size) + " is larger than block_size " +
                                      std::to_string(g.block_size));
  const std::uint32_t rings = std::max<std::uint32_t>(r.sockets, 1);
  if (rings > kMaxRingFrames)
    return bad("sockets", std::to_string(r.sockets) + " is out of range");
  std::unordered_set<std::uint64_t> seqs;
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    const FrameRecord& f = r.frames[i];
    const std::string at = "frames[" + std::to_string(i) + "].";
    if (f.index >= g.frames)
      return bad(at + "index", std::to_string(f.index) + " is beyond the ring of " +
                                   std::to_string(g.frames) + " frames");
    if (f.ring >= rings)
      return bad(at + "ring", std::to_string(f.ring) + " is beyond the " + std::to_string(rings) +
                                  " ring(s) of the record");
    if (f.t_fill_ns < 0 || f.t_request_ns < 0 || f.t_send_ns < 0 || f.t_done_ns < 0)
      return bad(at + "t_*_ns", "timestamps must not be negative");
    if (!seqs.insert(f.seq).second)
      return bad(at + "seq", std::to_string(f.seq) + " appears twice");
  }
  for (std::size_t i = 0; i < r.slots.size(); ++i)
    if (r.slots[i].index >= g.frames || r.slots[i].ring >= rings)
      return bad("slots[" + std::to_string(i) + "]", "is beyond the ring");
  return {};
}

} // namespace

Result<SendReport> send_report_from_json(const nlohmann::json& j) {
  SendReport r;
  Reader rd;
  if (!j.is_object())
    return fail(Exit::usage, "sender record", "is not a JSON object",
                "the file must be a harness.sender/1 record written by `harness send --records`");
  std::string schema;
  rd.text(j, "schema", schema);
  if (!rd.failed && schema != kSenderSchema)
    rd.set("schema", "is '" + schema + "', expected '" + std::string(kSenderSchema) + "'");
  rd.num(j, "run_id", r.run_id);
  rd.num(j, "pid", r.pid);
  rd.text(j, "iface", r.iface, true, IFNAMSIZ - 1);
  int tp = 0;
  rd.num(j, "tpacket", tp);
  if (!rd.failed) {
    if (tp < 1 || tp > 3)
      rd.set("tpacket", "must be 1, 2 or 3");
    else
      r.version = static_cast<TpacketVersion>(tp);
  }
  std::string sock;
  rd.text(j, "socket", sock);
  if (!rd.failed) {
    if (sock != "raw" && sock != "dgram")
      rd.set("socket", "must be \"raw\" or \"dgram\"");
    r.dgram = sock == "dgram";
  }
  if (const auto* ring = rd.at(j, "ring")) {
    rd.where = "ring.";
    rd.num(*ring, "frames", r.ring.frames);
    rd.num(*ring, "frame_size", r.ring.frame_size);
    rd.num(*ring, "block_size", r.ring.block_size);
    rd.num(*ring, "frames_per_block", r.ring.frames_per_block);
    rd.num(*ring, "blocks", r.ring.blocks);
    rd.where.clear();
  }
  if (const auto* frames = rd.at(j, "frames")) {
    if (!frames->is_array())
      rd.set("frames", "is not an array");
    for (std::size_t i = 0; !rd.failed && i < frames->size(); ++i) {
      const auto& jf = (*frames)[i];
      rd.where = "frames[" + std::to_string(i) + "].";
      FrameRecord f;
      rd.num(jf, "seq", f.seq);
      rd.num(jf, "index", f.index);
      rd.num(jf, "ring", f.ring, false);
      rd.num(jf, "t_fill_ns", f.t_fill_ns);
      rd.num(jf, "t_request_ns", f.t_request_ns);
      rd.num(jf, "t_send_ns", f.t_send_ns);
      rd.num(jf, "t_done_ns", f.t_done_ns);
      rd.status(jf, "final", f.final_status);
      rd.boolean(jf, "malformed", f.malformed);
      r.frames.push_back(f);
    }
    rd.where.clear();
  }
  if (const auto* slots = rd.at(j, "slots")) {
    if (!slots->is_array())
      rd.set("slots", "is not an array");
    for (std::size_t i = 0; !rd.failed && i < slots->size(); ++i) {
      const auto& js = (*slots)[i];
      rd.where = "slots[" + std::to_string(i) + "].";
      SlotAudit s;
      rd.num(js, "index", s.index);
      rd.num(js, "ring", s.ring, false);
      rd.status(js, "status", s.status);
      rd.num(js, "raw", s.raw);
      r.slots.push_back(s);
    }
    rd.where.clear();
  }
  if (const auto* t = rd.at(j, "totals")) {
    rd.where = "totals.";
    rd.num(*t, "requested", r.totals.requested);
    rd.num(*t, "sent", r.totals.sent);
    rd.num(*t, "bytes", r.totals.bytes);
    rd.num(*t, "elapsed_ns", r.totals.elapsed_ns);
    rd.num(*t, "send_calls", r.totals.send_calls);
    rd.num(*t, "retries", r.totals.retries);
    rd.num(*t, "queued", r.totals.queued, false);
    rd.num(*t, "discarded", r.totals.discarded, false);
    rd.num(*t, "send_errors", r.totals.send_errors, false);
    rd.where.clear();
  }
  if (const auto* c = rd.at(j, "iface_counters")) {
    rd.where = "iface_counters.";
    if (const auto* b = rd.at(*c, "before"))
      read_counters(rd, *b, r.before);
    if (const auto* a = rd.at(*c, "after"))
      read_counters(rd, *a, r.after);
    rd.where.clear();
  }
  rd.text(j, "netns", r.netns, false);
  rd.num(j, "size", r.size, false);
  rd.num(j, "sockets", r.sockets, false);
  rd.boolean(j, "qdisc_bypass", r.qdisc_bypass);
  rd.boolean(j, "vnet_hdr", r.vnet_hdr);
  rd.boolean(j, "loss", r.loss);
  rd.boolean(j, "threaded", r.threaded);
  rd.boolean(j, "interrupted", r.interrupted);
  rd.boolean(j, "stalled", r.stalled);
  if (const auto* n = rd.at(j, "notes", false)) {
    if (!n->is_array())
      rd.set("notes", "is not an array");
    for (std::size_t i = 0; !rd.failed && i < n->size(); ++i) {
      if (!(*n)[i].is_string())
        rd.set("notes", "holds a non-string");
      else if ((*n)[i].get_ref<const std::string&>().size() > kMaxDataString)
        rd.set("notes", "holds a string longer than " + std::to_string(kMaxDataString) + " bytes");
      else
        r.notes.push_back(printable((*n)[i].get<std::string>()));
    }
  }
  if (const auto* e = rd.at(j, "injected_error", false)) {
    rd.where = "injected_error.";
    rd.num(*e, "kind", r.injected.kind);
    rd.num(*e, "after_seq", r.injected.after_seq);
    rd.text(*e, "outcome", r.injected.outcome);
    rd.where.clear();
  }
  if (const auto* rc = rd.at(j, "receiver", false)) {
    rd.where = "receiver.";
    ReceiverCheck c;
    rd.text(*rc, "iface", c.iface, true, IFNAMSIZ - 1);
    rd.num(*rc, "expected", c.expected);
    rd.num(*rc, "received", c.received);
    rd.num(*rc, "foreign", c.foreign);
    rd.num(*rc, "out_of_order", c.out_of_order);
    rd.num(*rc, "duplicates", c.duplicates);
    rd.num(*rc, "missing", c.missing);
    rd.num(*rc, "bad_payload", c.bad_payload);
    rd.num(*rc, "unexpected", c.unexpected, false);
    rd.num(*rc, "kernel_drops", c.kernel_drops, false);
    rd.text(*rc, "first_problem", c.first_problem);
    rd.boolean(*rc, "ok", c.ok);
    r.receiver = c;
    rd.where.clear();
  }
  if (rd.failed)
    return std::unexpected(rd.error);
  if (auto s = check_consistency(r); !s)
    return std::unexpected(s.error());
  return r;
}

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

} // namespace

std::string format_audit(const SendReport& r) {
  std::ostringstream o;
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

  const auto& t = r.totals;
  const std::uint64_t not_sent = t.requested > t.sent ? t.requested - t.sent : 0;
  o << "frames    requested " << t.requested << ", queued " << t.queued << ", sent " << t.sent
    << ", not sent " << not_sent;
  if (t.discarded)
    o << " (" << t.discarded << " malformed, discarded by PACKET_LOSS)";
  o << "\n";
  const double secs = static_cast<double>(t.elapsed_ns) / 1e9;
  o << "bytes     " << t.bytes << " (" << human_bytes(static_cast<double>(t.bytes)) << ")\n";
  if (secs > 0)
    o << fmt("time      %.3f ms, %.0f frames/s, %.1f Mbit/s\n", secs * 1e3,
             static_cast<double>(t.sent) / secs, static_cast<double>(t.bytes) * 8 / secs / 1e6);
  else
    o << "time      0 ms\n";
  o << "send()    " << t.send_calls << " calls, " << t.retries << " ENOBUFS/EAGAIN retries, "
    << t.send_errors << " errors\n";
  if (r.before.valid && r.after.valid) {
    o << "iface TX  " << counter_line("packets", r.before.tx_packets, r.after.tx_packets) << ", "
      << counter_line("bytes", r.before.tx_bytes, r.after.tx_bytes) << ", "
      << counter_line("dropped", r.before.tx_dropped, r.after.tx_dropped) << "\n";
  } else {
    o << "iface TX  counters unavailable\n";
  }

  // Slot audit.
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
  if (t.queued < t.requested)
    o << "unqueued  " << (t.requested - t.queued) << " frames were never queued\n";

  if (r.injected.kind != 0)
    o << "injected  -e " << r.injected.kind << " after " << r.injected.after_seq
      << " frames: " << r.injected.outcome << "\n";
  if (r.receiver) {
    const auto& c = *r.receiver;
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
  for (const auto& n : r.notes)
    o << "note      " << n << "\n";

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
  return o.str();
}

std::string format_frames(const SendReport& r) {
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

bool all_frames_sent(const SendReport& r) {
  if (r.interrupted || r.stalled)
    return false;
  if (r.totals.sent < r.totals.requested)
    return false;
  for (const auto& s : r.slots)
    if (s.status != SlotStatus::available)
      return false;
  if (r.receiver && !r.receiver->ok)
    return false;
  return true;
}

} // namespace harness::sender
