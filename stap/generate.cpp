// The script generator. Only validated data reaches the script: the map is re-validated here
// (names from the built-in tables, release/sha1 syntax, line ranges), probe points are built
// from the function table and integers, and every text from a map or a source appears only in
// `//` comments after control characters are removed (a comment cannot be left without one).
#include "stap/generate.hpp"

#include "base/sha1.hpp"
#include "probes/anchors.hpp"
#include "probes/field_sources.hpp"
#include "probes/plan_maker.hpp"
#include "probes/trace_format.hpp"

#include <algorithm>
#include <span>

namespace harness::stap {
namespace {

namespace k = probes::trace::key;

// Comment-safe text: printable ASCII only (tabs expanded), bounded.
std::string comment_text(std::string_view s, size_t max_len = 160) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c == '\t')
      out.append(8 - out.size() % 8, ' ');
    else if (c >= 0x20 && c < 0x7f)
      out.push_back(static_cast<char>(c));
    else
      out.push_back('?');
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      if (start < text.size())
        lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// The SystemTap string literal of a value already restricted to [0-9A-Za-z.+_~-] (release,
// anchor names, hex ids): no quote or backslash can occur, checked again here.
Result<std::string> literal(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
          c == '-' || c == '+' || c == '_' || c == '~'))
      return fail(Exit::usage, "line map",
                  "value '" + comment_text(s, 64) + "' cannot be placed in a script",
                  "the map file is corrupt; regenerate it with `harness map`");
  return "\"" + std::string(s) + "\"";
}

// Since 3.14 pending is a per-cpu refcount; the script sums it the way packet_read_pending()
// does (per_cpu_ptr = pointer + __per_cpu_offset[cpu], x86 SMP), as racy as the kernel's own
// read. Without __per_cpu_offset (UP kernels), or with more CPUs than the loop may visit within
// MAXACTION, it prints `?` rather than a partial sum.
constexpr std::string_view kPercpuPending =
    "  else if (@defined($po->tx_ring->pending_refcnt) && @defined(@var(\"__per_cpu_offset\")) "
    "&& @defined(@var(\"nr_cpu_ids\"))) {\n"
    "    try {\n"
    "      hx_rc = $po->tx_ring->pending_refcnt\n"
    "      hx_n = @var(\"nr_cpu_ids\")\n"
    "      if (hx_rc != 0 && hx_n > 0 && hx_n <= 128) {\n"
    "        hx_sum = 0\n"
    "        for (hx_c = 0; hx_c < hx_n; hx_c++)\n"
    "          hx_sum += kernel_int(hx_rc + @var(\"__per_cpu_offset\")[hx_c]) & 0xffffffff\n"
    "        f_pending = sprintf(\"%d\", hx_sum & 0xffffffff)\n"
    "      }\n"
    "    } catch { f_pending = \"?\" }\n"
    "  }\n";

// A key is read with the expressions of field_expressions, tried in order with @defined (the
// first that resolves in pass 2 is used); a fault while reading yields `?`. No expression
// resolving (optimised out) yields `?` too. Addresses print in hex.
void emit_field(std::string& s, std::string_view anchor, std::string_view key) {
  const bool hex = probes::trace::is_address_key(key);
  const std::string var = "f_" + std::string(key);
  s += "  " + var + " = \"?\"\n";
  bool first = true;
  for (const auto& e : field_expressions(anchor, key)) {
    const std::string value = hex ? "sprintf(\"0x%x\", " + e + ")" : "sprintf(\"%d\", " + e + ")";
    s += std::string(first ? "  if" : "  else if") + " (@defined(" + e + ")) { try { " + var +
         " = " + value + " } catch { " + var + " = \"?\" } }\n";
    first = false;
  }
  if (key == k::pending)
    s += kPercpuPending;
}

// Reads the probe's fields (but `read`, already read by the caller) and prints its EV record.
void emit_record(std::string& s, const probes::PlannedProbe& p, const std::string& name_lit,
                 std::string_view read = {}) {
  std::string fmt, argv;
  for (const auto& f : p.fields) {
    if (f != read)
      emit_field(s, p.anchor, f);
    fmt += " " + f + "=%s";
    argv += ", f_" + f;
  }
  // sq numbers the records the script prints (probes/trace_format.hpp record_key::seq): a gap
  // shows where the transport lost some. hx_sq is taken under the same probe lock as t.
  s += "  printf(\"" + std::string(probes::trace::prefix) + " " +
       std::string(probes::trace::kind::event) + " %d %d %d %d %s" + fmt + " " +
       std::string(probes::trace::record_key::seq) + "=%d\\n\", t, cpu(), pid(), tid(), " +
       name_lit + argv + ", hx_sq)\n";
}

// A kernel event probe: only for a task inside tpacket_snd; sched.sleep only when the task
// leaves the CPU to sleep (not preempted, prev state non-zero). Hits count printed records
// only, so that the report's events_lost check still compares like with like.
void emit_event_probe(std::string& s, const probes::AnchorDef& a, const probes::PlannedProbe& p,
                      const std::string& name_lit) {
  s += "\n// " + p.anchor + ": " + comment_text(a.rule_text) + "\n";
  s += "probe " + p.probe_point + " {\n";
  s += "  if (!(tid() in hx_in_snd))\n    next\n";
  s += "  t = gettimeofday_ns()\n";
  std::string_view read;
  if (a.kind == probes::AnchorKind::tracepoint) {
    // schedule() with TASK_RUNNING is a yield, not a sleep.
    s += "  hx_state = task_state(task_current())\n";
    s += "  if (hx_state == 0)\n    next\n";
    s += "  f_state = sprintf(\"%d\", hx_state)\n";
    read = k::state;
  }
  s += "  hx_hits[" + name_lit + "]++\n";
  s += "  hx_sq++\n";
  emit_record(s, p, name_lit, read);
  s += "}\n";
}

// The source lines a script quotes: none without a source, else the source the map was made
// from (its sha1 must be the map's).
Result<std::vector<std::string_view>> quoted_source(const std::optional<std::string>& source_text,
                                                    const probes::LineMap& map) {
  if (!source_text)
    return std::vector<std::string_view>{};
  const std::string sha = sha1_hex(*source_text);
  if (sha != map.source_sha1)
    return fail(Exit::usage, "source",
                "its sha1 " + sha + " is not the map's (" + map.source_sha1 + ")",
                "quote the source the map was made from, or generate without it");
  return split_lines(*source_text);
}

// The script's leading comments: what it probes, from which map, and how to read its output.
void emit_header(std::string& s, const probes::LineMap& map, const probes::ProbePlan& plan,
                 probes::ProbeSet set) {
  s += "#! /usr/bin/env stap\n";
  s += "// harness probe script, generated by `harness generate`: do not edit.\n";
  s += "// kernel: " + comment_text(map.release) + "\n";
  s += "// map: " + comment_text(plan.map) + "\n";
  s += "// source: " + std::string(probes::af_packet_path) + " sha1 " + map.source_sha1 + "\n";
  s += "// probes: " + std::string(to_string(set)) + ", plan " + plan.plan_id + "\n";
  if (!plan.absent.empty()) {
    s += "// not probed (not in this kernel, or left out):";
    for (const auto& a : plan.absent)
      s += " " + a;
    s += "\n";
  }
  s += "// Output: one record per line, `" + std::string(probes::trace::prefix) +
       " READY|EV|HITS|END ...` (probes/trace_format.hpp);\n"
       "// `?` is a value that could not be read (optimised out or a fault).\n"
       "// Statement probes end in `?` (skipped when their function is not in the kernel); a\n"
       "// line without line records still fails pass 2: leave it out (GenerateOptions::skip).\n"
       "// pending: TX frames in flight when the probe fires (before its line runs): "
       "tx_ring.pending\n"
       "// (atomic_t, <= 3.13) or the sum of the per-cpu pending_refcnt (3.14+); `?` if "
       "unreadable.\n"
       "\n";
}

// The globals and the begin probe, which prints READY.
void emit_globals_and_begin(std::string& s, bool events, const std::string& plan_lit,
                            const std::string& kernel_lit, const std::string& set_lit) {
  s += "global hx_hits\n";
  s += "// every record printed, numbered (sq=): the HITS add up to the last number\n";
  s += "global hx_sq\n";
  if (events)
    s += "// tids inside tpacket_snd (set at snd.start, cleared at snd.return): kernel event\n"
         "// records are printed only for them, to keep the volume low.\n"
         "global hx_in_snd\n";
  s += "\n";
  s += "probe begin {\n";
  s += "  printf(\"" + std::string(probes::trace::prefix) + " " +
       std::string(probes::trace::kind::ready) + " %d " +
       std::string(probes::trace::ready_key::plan) + "=%s " +
       std::string(probes::trace::ready_key::kernel) + "=%s " +
       std::string(probes::trace::ready_key::probes) + "=%s\\n\", gettimeofday_ns(), " + plan_lit +
       ", " + kernel_lit + ", " + set_lit + ")\n}\n";
}

// An af_packet.c statement (or function entry) probe, with its line (and the two before it)
// quoted from the source when there is one.
void emit_statement_probe(std::string& s, const probes::AnchorDef& a, const probes::PlannedProbe& p,
                          const std::string& name_lit,
                          std::span<const std::string_view> source_lines, bool events) {
  s += "\n// " + p.anchor + ": " + p.function + " line " + std::to_string(p.line);
  s += a.probe_function_entry ? " (function entry)\n" : ": " + comment_text(p.statement) + "\n";
  if (!source_lines.empty()) {
    const int first = std::max(1, p.line - (a.probe_function_entry ? 0 : 2));
    for (int l = first; l <= p.line && static_cast<size_t>(l) <= source_lines.size(); ++l)
      s += "//  " + std::to_string(l) + (l == p.line ? " > " : " | ") +
           comment_text(source_lines[static_cast<size_t>(l) - 1]) + "\n";
  }
  s += "probe " + p.probe_point + " {\n";
  s += "  t = gettimeofday_ns()\n";
  s += "  hx_hits[" + name_lit + "]++\n";
  s += "  hx_sq++\n";
  if (events && p.anchor == "snd.start")
    s += "  hx_in_snd[tid()] = 1\n";
  if (events && p.anchor == "snd.return")
    s += "  delete hx_in_snd[tid()]\n";
  emit_record(s, p, name_lit);
  s += "}\n";
}

// The end probe: HITS per anchor, then END.
void emit_end(std::string& s, const probes::ProbePlan& plan) {
  s += "\nprobe end {\n";
  for (const auto& p : plan.anchors)
    s += "  printf(\"" + std::string(probes::trace::prefix) + " " +
         std::string(probes::trace::kind::hits) + " %s %d\\n\", \"" + p.anchor + "\", hx_hits[\"" +
         p.anchor + "\"])\n";
  s += "  printf(\"" + std::string(probes::trace::prefix) + " " +
       std::string(probes::trace::kind::end) + " %d\\n\", gettimeofday_ns())\n}\n";
}

} // namespace

std::vector<std::string> field_expressions(std::string_view anchor, std::string_view key) {
  std::vector<std::string> exprs;
  const probes::FieldSource* src = probes::field_source(anchor, key);
  if (!src)
    return exprs; // `state` is read by the sched.sleep probe itself (emit_event_probe)
  for (auto path : src->paths) {
    if (path.empty())
      continue;
    // stap reads a member through a pointer and in an embedded struct alike, with `->`.
    std::string e = "$";
    for (char c : path)
      if (c == '.')
        e += "->";
      else
        e += c;
    exprs.push_back(std::move(e));
  }
  return exprs;
}

Result<GeneratedScript> generate_script(const probes::LineMap& map_in, probes::ProbeSet set,
                                        const std::optional<std::string>& source_text) {
  return generate_script(map_in, set, source_text, GenerateOptions{});
}

Result<GeneratedScript> generate_script(const probes::LineMap& map_in, probes::ProbeSet set,
                                        const std::optional<std::string>& source_text,
                                        const GenerateOptions& options) {
  // Re-validate through the one strict parser, whatever built the map.
  auto checked = probes::line_map_from_json(probes::line_map_to_json(map_in),
                                            "line map " + comment_text(map_in.release, 64));
  if (!checked)
    return std::unexpected(checked.error());
  const probes::LineMap& map = *checked;
  auto source_lines = quoted_source(source_text, map);
  if (!source_lines)
    return std::unexpected(source_lines.error());

  GeneratedScript out;
  auto made = probes::make_plan(map, set, probes::PlanOptions{options.skip});
  if (!made)
    return std::unexpected(made.error());
  out.plan = std::move(*made);
  const probes::ProbePlan& plan = out.plan;
  const bool events = std::any_of(plan.anchors.begin(), plan.anchors.end(), [](const auto& p) {
    const probes::AnchorDef* a = probes::find_any_anchor(p.anchor);
    return a && probes::is_kernel_event(*a);
  });

  auto kernel_lit = literal(map.release);
  auto plan_lit = literal(plan.plan_id);
  if (!kernel_lit)
    return std::unexpected(kernel_lit.error());
  if (!plan_lit)
    return std::unexpected(plan_lit.error());
  const std::string set_lit = "\"" + std::string(to_string(set)) + "\"";

  std::string& s = out.text;
  emit_header(s, map, plan, set);
  emit_globals_and_begin(s, events, *plan_lit, *kernel_lit, set_lit);
  for (const auto& p : plan.anchors) {
    const probes::AnchorDef* a = probes::find_any_anchor(p.anchor);
    auto name_lit = literal(p.anchor);
    if (!name_lit)
      return std::unexpected(name_lit.error());
    if (probes::is_kernel_event(*a))
      emit_event_probe(s, *a, p, *name_lit);
    else
      emit_statement_probe(s, *a, p, *name_lit, *source_lines, events);
  }
  emit_end(s, plan);
  return out;
}

} // namespace harness::stap
