#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_kernel(const Args&) { return fail(Exit::usage, "kernel", "not implemented yet"); }

} // namespace harness::cli
