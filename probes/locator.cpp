#include "probes/locator.hpp"

#include "base/sha1.hpp"
#include "probes/anchor_rule.hpp"
#include "probes/anchors.hpp"
#include "probes/c_tokens.hpp"
#include "probes/pattern.hpp"

#include <map>
#include <optional>

namespace harness::probes {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\f\v");
  if (b == std::string_view::npos)
    return {};
  const auto e = s.find_last_not_of(" \t\r\f\v");
  return std::string(s.substr(b, e - b + 1));
}

bool is_identifier(std::string_view t) {
  return !t.empty() &&
         ((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || t[0] == '_');
}

// The token after a definition's parameter list, skipping the annotations that may stand before
// its body: af_packet.c puts sparse context annotations there (`__releases(&pkc->...)` on the
// prb_* functions since 4.x), and an anchored function may get one (`__must_hold(&po->...)`).
size_t skip_annotations(const std::vector<Token>& t, size_t pos) {
  while (pos < t.size() && is_identifier(t[pos].text)) {
    if (pos + 1 < t.size() && t[pos + 1].text == "(")
      pos = matching_close(t, pos + 1, t.size());
    if (pos < t.size())
      ++pos;
  }
  return pos;
}

struct Body {
  const FunctionDef* def = nullptr;
  std::string name; // as defined in this source
  size_t open = 0;  // token index of '{'
  size_t close = 0; // token index of '}'
  int start_line = 0;
  int end_line = 0;
};

// Compiled patterns of every rule step, built once (rules are constant).
class PatternCache {
public:
  std::span<const Pattern> get(const RuleStep& step) {
    auto it = cache_.find(&step);
    if (it != cache_.end())
      return it->second;
    std::vector<Pattern> v;
    for (auto alt : step.alternatives)
      if (!alt.empty())
        v.push_back(compile_pattern(alt));
    return cache_.emplace(&step, std::move(v)).first->second;
  }

private:
  std::map<const RuleStep*, std::vector<Pattern>> cache_;
};

PatternCache& patterns() {
  static PatternCache cache;
  return cache;
}

std::string describe_alternatives(const RuleStep& step) {
  std::string out;
  for (auto alt : step.alternatives) {
    if (alt.empty())
      continue;
    if (!out.empty())
      out += " or ";
    out += "`" + std::string(alt) + "`";
  }
  return out;
}

std::string join_lines(const std::vector<int>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0)
      out += i + 1 == lines.size() ? " and " : ", ";
    out += std::to_string(lines[i]);
  }
  return out;
}

class Locator {
public:
  Locator(std::string_view source, std::string release) : source_(tokenize(source)) {
    report_.map.release = std::move(release);
    report_.map.source_sha1 = sha1_hex(source);
  }

  LocateReport run() {
    for (const auto& f : anchored_functions())
      find_body(f);
    for (const auto& a : anchors())
      place(a);
    return std::move(report_);
  }

private:
  const std::vector<Token>& toks() const { return source_.tokens; }

  void problem(std::string_view anchor, std::string message, bool consequence = false) {
    report_.problems.push_back({std::string(anchor), std::move(message), consequence});
  }

  // A definition: NAME at file scope, its parameter list, optional annotations, the body's '{'.
  void find_body(const FunctionDef& f) {
    std::vector<Body> found;
    const auto& t = toks();
    for (size_t i = 0; i + 1 < t.size(); ++i) {
      if (t[i].depth != 0 || t[i + 1].text != "(")
        continue;
      bool named = false;
      for (auto n : f.names)
        named = named || t[i].text == n;
      if (!named)
        continue;
      const size_t rparen = matching_close(t, i + 1, t.size());
      const size_t open = rparen < t.size() ? skip_annotations(t, rparen + 1) : t.size();
      if (open >= t.size() || t[open].text != "{")
        continue; // a declaration or a call
      const size_t close = matching_close(t, open, t.size());
      if (close >= t.size())
        continue;
      found.push_back(Body{&f, std::string(t[i].text), open, close, t[i].line, t[close].line});
    }
    if (found.size() == 1) {
      bodies_[f.canonical] = found.front();
      report_.map.functions.push_back({std::string(f.canonical), found.front().name,
                                       found.front().start_line, found.front().end_line});
      return;
    }
    std::string names;
    for (auto n : f.names)
      names += (names.empty() ? "" : " or ") + std::string(n);
    if (found.empty()) {
      problem(f.canonical, "function " + names + ": no definition found" +
                               (source_.unbalanced ? " (the file's braces do not balance)" : "") +
                               "; is this net/packet/af_packet.c?");
      return;
    }
    std::vector<int> lines;
    for (const auto& b : found)
      lines.push_back(b.start_line);
    problem(f.canonical, "function " + names + ": " + std::to_string(found.size()) +
                             " definitions, at lines " + join_lines(lines) +
                             " (#ifdef variants?); cannot tell which one is compiled");
  }

  std::string where(const Body& b, size_t begin, size_t end) const {
    int first = b.start_line, last = b.end_line;
    if (begin > b.open + 1 || end < b.close) {
      first = begin < end ? toks()[begin].line : toks()[std::min(begin, b.close)].line;
      last = begin < end ? toks()[end - 1].line : first;
    }
    return "in " + b.name + " (lines " + std::to_string(first) + "-" + std::to_string(last) + ")";
  }

  void set(AnchorLocation& loc, int line) {
    loc.line = line;
    const auto& lines = source_.lines;
    loc.text = line >= 1 && static_cast<size_t>(line) <= lines.size()
                   ? trim(lines[static_cast<size_t>(line) - 1])
                   : std::string();
  }

  void place(const AnchorDef& a) {
    AnchorLocation loc;
    loc.name = std::string(a.name);
    auto it = bodies_.find(a.function);
    if (it != bodies_.end()) {
      const Body& b = it->second;
      if (a.kind == AnchorKind::function_start)
        set(loc, b.start_line);
      else if (a.kind == AnchorKind::function_end)
        set(loc, b.end_line);
      else if (auto line = run_rule(a, b))
        set(loc, *line);
    } else {
      // The function's own problem already explains it; list the anchor so nothing is silent.
      problem(a.name,
              "anchor " + std::string(a.name) + ": function " + std::string(a.function) +
                  " not found",
              true);
    }
    report_.map.anchors.push_back(std::move(loc));
  }

  // The token range a rule step narrows (begin inclusive, end exclusive).
  struct Range {
    size_t begin = 0;
    size_t end = 0;
  };

  // The step's match within `r` (the first or last, as the step picks); nullopt when there is
  // none to take: legitimately absent, or with a problem recorded.
  std::optional<Match> step_match(const AnchorDef& a, const RuleStep& step, const Body& b,
                                  Range r) {
    const std::string prefix = "anchor " + std::string(a.name) + ": ";
    const auto alts = patterns().get(step);
    const auto matches = find_matches(alts, toks(), r.begin, r.end);
    if (matches.empty()) {
      if (step.absent_if_none && a.optional)
        return std::nullopt;
      problem(a.name, prefix + "0 matches " + where(b, r.begin, r.end) + " for " +
                          describe_alternatives(step));
      return std::nullopt;
    }
    if (step.pick == Pick::only && matches.size() > 1) {
      std::vector<int> lines;
      for (const auto& m : matches)
        lines.push_back(toks()[m.mark].line);
      problem(a.name, prefix + std::to_string(matches.size()) + " matches " +
                          where(b, r.begin, r.end) + ", at " + join_lines(lines) + ", for " +
                          describe_alternatives(step));
      return std::nullopt;
    }
    return step.pick == Pick::last ? matches.back() : matches.front();
  }

  // StepOp::block: the braced block after the match, or the statement up to its `;`.
  std::optional<Range> block_after(const AnchorDef& a, const Match& m, Range r) {
    const size_t pos = m.end;
    if (pos < r.end && toks()[pos].text == "{") {
      const size_t close = matching_close(toks(), pos, r.end);
      if (close >= r.end) {
        problem(a.name, "anchor " + std::string(a.name) + ": unterminated block after line " +
                            std::to_string(toks()[m.begin].line));
        return std::nullopt;
      }
      return Range{pos + 1, close};
    }
    size_t semi = pos;
    while (semi < r.end && toks()[semi].text != ";")
      ++semi;
    return Range{pos, semi < r.end ? semi + 1 : r.end};
  }

  // StepOp::case_arm: the statements of the matched `case` up to the next label at its depth;
  // nullopt for an empty arm (absent when the step allows it, else a problem).
  std::optional<Range> case_arm(const AnchorDef& a, const RuleStep& step, const Match& m, Range r) {
    const int depth = toks()[m.begin].depth;
    size_t stop = m.end;
    while (stop < r.end) {
      const auto& t = toks()[stop];
      if (t.depth < depth || (t.depth == depth && (t.text == "case" || t.text == "default")))
        break;
      ++stop;
    }
    if (stop == m.end) {
      if (step.absent_if_none && a.optional)
        return std::nullopt;
      problem(a.name, "anchor " + std::string(a.name) + ": the arm at line " +
                          std::to_string(toks()[m.begin].line) + " is empty (falls through)");
      return std::nullopt;
    }
    return Range{m.end, stop};
  }

  // StepOp::next_token: the line of the token after the match, past closing braces (a `}` has
  // no code of its own: the next statement does).
  std::optional<int> next_token_line(const AnchorDef& a, const RuleStep& step, const Body& b,
                                     const Match& m, Range r) {
    std::size_t next = m.end;
    while (next < r.end && toks()[next].text == "}")
      ++next;
    if (next >= r.end) {
      problem(a.name, "anchor " + std::string(a.name) + ": nothing follows " +
                          describe_alternatives(step) + " " + where(b, r.begin, r.end));
      return std::nullopt;
    }
    return toks()[next].line;
  }

  // The anchor's line; nullopt when absent (legitimately, or with a problem recorded).
  std::optional<int> run_rule(const AnchorDef& a, const Body& b) {
    if (!a.rule) {
      problem(a.name, "anchor " + std::string(a.name) + ": no rule (harness bug)");
      return std::nullopt;
    }
    const Range whole{b.open + 1, b.close};
    Range r = whole;
    for (const auto& step : a.rule->steps) {
      if (step.op == StepOp::whole_body) {
        r = whole;
        continue;
      }
      const auto m = step_match(a, step, b, r);
      if (!m)
        return std::nullopt;
      std::optional<Range> next = r;
      switch (step.op) {
      case StepOp::block:
        next = block_after(a, *m, r);
        break;
      case StepOp::case_arm:
        next = case_arm(a, step, *m, r);
        break;
      case StepOp::after:
        next->begin = m->end;
        break;
      case StepOp::before:
        next->end = m->begin;
        break;
      case StepOp::require:
      case StepOp::whole_body:
        break;
      case StepOp::target:
        return toks()[m->mark].line;
      case StepOp::next_token:
        return next_token_line(a, step, b, *m, r);
      }
      if (!next)
        return std::nullopt;
      r = *next;
    }
    problem(a.name, "anchor " + std::string(a.name) + ": rule has no target step (harness bug)");
    return std::nullopt;
  }

  TokenizedSource source_;
  LocateReport report_;
  std::map<std::string_view, Body> bodies_;
};

} // namespace

LocateReport locate_all(std::string_view source_text, std::string release) {
  return Locator(source_text, std::move(release)).run();
}

Result<LineMap> locate(std::string_view source_text, std::string release) {
  auto report = locate_all(source_text, std::move(release));
  if (report.ok())
    return std::move(report.map);
  // Anchors of a missing function are implied by the function's own problem.
  std::vector<std::string> causes;
  size_t implied = 0;
  for (const auto& p : report.problems) {
    if (p.consequence)
      ++implied;
    else
      causes.push_back(p.message);
  }
  std::string why;
  if (report.map.functions.empty()) {
    why = "none of the anchored functions (__packet_set_status, __packet_get_status, "
          "tpacket_destruct_skb, tpacket_snd) is defined here: this is not net/packet/af_packet.c";
  } else if (causes.size() == 1) {
    why = causes.front();
  } else {
    why = std::to_string(causes.size()) + " problems:";
    for (const auto& c : causes)
      why += "\n  " + c;
  }
  if (implied > 0 && !report.map.functions.empty())
    why += " (" + std::to_string(implied) + " anchors of the missing functions not placed)";
  const std::string hint =
      report.map.functions.empty()
          ? std::string(kAfPacketSourceHint)
          : "is this af_packet.c from a kernel harness does not know yet? `harness drift --source "
            "FILE --kernel NEAREST` lists every anchor it could and could not place";
  return fail(Exit::no_map, std::string(af_packet_path), why, hint);
}

std::string release_from_makefile(std::string_view text) {
  std::map<std::string, std::string> vars;
  size_t pos = 0;
  while (pos < text.size() && vars.size() < 4) {
    const size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos)
      continue;
    const std::string key = trim(line.substr(0, eq));
    if (key == "VERSION" || key == "PATCHLEVEL" || key == "SUBLEVEL" || key == "EXTRAVERSION")
      vars.emplace(key, trim(line.substr(eq + 1)));
  }
  if (!vars.contains("VERSION") || !vars.contains("PATCHLEVEL") || vars["VERSION"].empty())
    return {};
  std::string out = vars["VERSION"] + "." + vars["PATCHLEVEL"];
  if (!vars["SUBLEVEL"].empty())
    out += "." + vars["SUBLEVEL"];
  return out + vars["EXTRAVERSION"];
}

} // namespace harness::probes
