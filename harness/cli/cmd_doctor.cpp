#include "commands.hpp"

namespace harness::cli {

// PLACEHOLDER: replaced by the real command while the first version is built.
Result<int> cmd_doctor(const Args&) { return fail(Exit::usage, "doctor", "not implemented yet"); }

} // namespace harness::cli
