#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_build(const Args&) { return fail(Exit::usage, "build", "not implemented yet"); }

} // namespace harness::cli
