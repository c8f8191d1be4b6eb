#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_vm_guest(const Args&) { return fail(Exit::usage, "vm_guest", "not implemented yet"); }

} // namespace harness::cli
