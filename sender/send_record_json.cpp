#include "sender/send_record_json.hpp"

#include "base/json_reader.hpp"
#include "base/printable.hpp"

#include <array>
#include <limits>
#include <linux/if_packet.h>
#include <map>
#include <net/if.h>
#include <unordered_set>

namespace harness::sender {

namespace {

nlohmann::json counters_json(const IfaceCounters& c) {
  if (!c.valid)
    return nullptr;
  return {{"tx_packets", c.tx_packets}, {"tx_bytes", c.tx_bytes}, {"tx_dropped", c.tx_dropped}};
}

nlohmann::json frames_json(const SenderRecord& r) {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : r.frames) {
    nlohmann::json jf = {{"seq", f.seq},
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
  return frames;
}

nlohmann::json slots_json(const SenderRecord& r) {
  nlohmann::json slots = nlohmann::json::array();
  for (const auto& s : r.slots) {
    nlohmann::json js = {{"index", s.index}, {"status", status_name(s.status)}, {"raw", s.raw}};
    if (r.sockets > 1)
      js["ring"] = s.ring;
    slots.push_back(std::move(js));
  }
  return slots;
}

} // namespace

std::string to_json_text(const SenderRecord& r, int indent) {
  return to_json(r).dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json to_json(const SenderRecord& r) {
  using nlohmann::json;
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
      {"frames", frames_json(r)},
      {"slots", slots_json(r)},
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

// The sender record's policy over the strict reader (base/json_reader.hpp): keys are
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
Status check_consistency(const SenderRecord& r) {
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

// What ran: the schema, the run, the socket and the ring's geometry.
void read_setup(Reader& rd, const nlohmann::json& j, SenderRecord& r) {
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
}

void read_frames(Reader& rd, const nlohmann::json& j, SenderRecord& r) {
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
}

void read_slots(Reader& rd, const nlohmann::json& j, SenderRecord& r) {
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
}

// The totals and the interface's counters before and after.
void read_totals(Reader& rd, const nlohmann::json& j, SenderRecord& r) {
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
}

// The options of the run, how it ended and its notes.
void read_options(Reader& rd, const nlohmann::json& j, SenderRecord& r) {
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
}

// The optional parts: the injected error, the receiver's check.
void read_checks(Reader& rd, const nlohmann::json& j, SenderRecord& r) {
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
}

} // namespace

std::span<const std::string_view> sender_record_keys() {
  static constexpr std::array<std::string_view, 23> kKeys = {
      "schema",      "run_id",  "pid",          "iface",          "tpacket",        "socket",
      "ring",        "frames",  "slots",        "totals",         "iface_counters", "netns",
      "size",        "sockets", "qdisc_bypass", "vnet_hdr",       "loss",           "threaded",
      "interrupted", "stalled", "notes",        "injected_error", "receiver"};
  return kKeys;
}

Result<SenderRecord> sender_record_from_json(const nlohmann::json& j) {
  SenderRecord r;
  Reader rd;
  if (!j.is_object())
    return fail(Exit::usage, "sender record", "is not a JSON object",
                "the file must be a harness.sender/1 record written by `harness send --records`");
  read_setup(rd, j, r);
  read_frames(rd, j, r);
  read_slots(rd, j, r);
  read_totals(rd, j, r);
  read_options(rd, j, r);
  read_checks(rd, j, r);
  if (rd.failed)
    return std::unexpected(rd.error);
  if (auto s = check_consistency(r); !s)
    return std::unexpected(s.error());
  return r;
}

} // namespace harness::sender
