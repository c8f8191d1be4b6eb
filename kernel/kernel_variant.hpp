#pragma once

// A kernel variant: named, documented edits to net/packet/af_packet.c of a test kernel's source
// (the bug zoo, tests/e2e/zoo/*.json). The shared source tree is never touched: the edited file
// is written into the variant's own build directory, where Kbuild finds it first (an O= build
// searches the object tree before VPATH = srctree), so every other object comes from ccache.
// The file format is documented in tests/e2e/zoo/README.md.

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::kernel {

struct SourceEdit {
  std::string old_text; // must occur exactly once in the file
  std::string new_text;
};

struct KernelVariant {
  std::string name;              // [a-z0-9-], 1-48 characters: part of the cache key and directory
  std::string rationale;         // what the edit breaks and why it is a real bug
  std::vector<SourceEdit> edits; // applied in order to net/packet/af_packet.c
};

// Reads the `variant` object of a zoo entry (or a file holding only that object). Errors name
// the file, the key and what is wrong.
Result<KernelVariant> load_variant(const std::string& path);
Result<KernelVariant> parse_variant(std::string_view json_text, std::string_view origin);

// Pure: `text` with every edit applied; an old text found zero or several times is an error
// naming the edit (the source is not the one the variant was written for).
Result<std::string> apply_edits(std::string_view text, const KernelVariant& variant,
                                std::string_view origin);

// Pure: the text that goes into the cache key.
std::string variant_key_text(const KernelVariant& variant);

} // namespace harness::kernel
