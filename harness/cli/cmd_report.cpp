#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_report(const Args&) { return fail(Exit::usage, "report", "not implemented yet"); }

} // namespace harness::cli
