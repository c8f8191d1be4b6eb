#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_send(const Args&) { return fail(Exit::usage, "send", "not implemented yet"); }

} // namespace harness::cli
