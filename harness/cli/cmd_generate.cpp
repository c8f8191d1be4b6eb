#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_generate(const Args&) { return fail(Exit::usage, "generate", "not implemented yet"); }

} // namespace harness::cli
