#pragma once

// How the locator finds a statement anchor inside its function body: a short list of steps,
// each narrowing the token range or picking the target. Patterns are C token sequences written
// as text ("if (unlikely(ph == NULL))"); spacing and line breaks do not matter, comments and
// preprocessor lines are never matched. Pattern extras:
//   ...    any tokens, not crossing ';', '{' or '}' (lazy)
//   %sub   one identifier containing `sub`
//   @      placed before a token: the anchor's line is that token's line (default: the first)
// Alternatives of a step are tried at every position; overlapping matches count once.

#include <array>
#include <span>
#include <string_view>

namespace harness::probes {

enum class StepOp {
  block,      // narrow to the body ({...} or single statement) controlled by the match
  case_arm,   // narrow to a switch arm: after `case X:` up to the next case/default label
  after,      // narrow to the tokens after the match
  before,     // narrow to the tokens before the match
  require,    // the range must contain a match (when `absent` is set: else the anchor is absent)
  whole_body, // widen the range back to the whole function body (no patterns)
  target,     // the anchor is (the `@` token of) the match
  next_token, // the anchor is the first token after the match that is not a `}` (the line of
              // the next statement: a closing brace has no code of its own)
};

enum class Pick {
  only,  // exactly one match, else an error naming the count and lines
  first, // the first of one or more
  last,  // the last of one or more
};

struct RuleStep {
  StepOp op;
  Pick pick = Pick::only;
  std::array<std::string_view, 4> alternatives{};
  // When this step finds nothing (or a case_arm is empty: it falls through to the next label),
  // the anchor does not exist in this version: absent, not an error. Only optional anchors use
  // it, and only on the step whose failure really means "this feature is not in this kernel".
  bool absent_if_none = false;
};

struct AnchorRule {
  std::span<const RuleStep> steps;
};

} // namespace harness::probes
