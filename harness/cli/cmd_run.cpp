#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_run(const Args&) { return fail(Exit::usage, "run", "not implemented yet"); }

} // namespace harness::cli
