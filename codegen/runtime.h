// runtime.h
//
// The runtime helpers generated code carries, by section name: the text of
// codegen/runtime/featx_runtime.h, embedded at build time, cut at its
// "// featx:section <name>" / "// featx:end" markers.
//
//   absl::StatusOr<std::string> text = RuntimeSections({"floordiv", "getitem"});
//   // "// Python's // on ints: ...\nint64_t FloorDiv(...) {...}\n\n// list[i] ..."

#ifndef FEATX_CODEGEN_RUNTIME_H_
#define FEATX_CODEGEN_RUNTIME_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace featx {

// The names of all sections, in file order.
std::vector<std::string> RuntimeSectionNames();

// The sections `names`, in file order (not the order of `names`), each
// followed by a blank line. Internal if a name has no section: the emitter
// and featx_runtime.h disagree.
absl::StatusOr<std::string> RuntimeSections(const std::set<std::string>& names);

}  // namespace featx

#endif  // FEATX_CODEGEN_RUNTIME_H_
