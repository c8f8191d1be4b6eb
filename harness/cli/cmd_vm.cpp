#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_vm(const Args&) { return fail(Exit::usage, "vm", "not implemented yet"); }

} // namespace harness::cli
