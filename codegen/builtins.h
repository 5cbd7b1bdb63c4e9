// builtins.h
//
// TorchScript builtins (scalar, list and dict operators that are not ATen
// dispatcher operators) lowered to plain C++, as a table from operator target
// to a C++ expression template. No LibTorch here; the emitter (cpp.cc) fills
// the templates with argument expressions.
//
// Template placeholders: $0, $1, ... are the arguments' C++ expressions, $T is
// the C++ type of the node's value. A lowering with `statement` set is emitted
// as a statement whose value is its first argument (an in-place write such as
// a dict's __setitem__) or None.
//
// Example:
//   const BuiltinLowering* b = FindBuiltinLowering("prim::max.float");
//   // b->expr == "std::max<double>($0, $1)"
//   FillTemplate(b->expr, {"a", "b"}, "double") == "std::max<double>(a, b)"
//
// Operators missing here and from the emitter's own cases are called boxed
// through LibTorch's operator registry (see cpp.cc).

#ifndef FEATX_CODEGEN_BUILTINS_H_
#define FEATX_CODEGEN_BUILTINS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace featx {

struct BuiltinLowering {
  const char* expr;              // C++ template, see above
  const char* helper = nullptr;  // a generated helper function it needs, or null
  const char* include = nullptr; // a header it needs, or null
  bool statement = false;        // emitted as a statement, not a value
};

// The lowering for `target` ("aten::numel", "prim::max.self_int"), or null.
const BuiltinLowering* FindBuiltinLowering(absl::string_view target);

// Replaces $0..$9 with `args` and $T with `type`.
std::string FillTemplate(absl::string_view tmpl, const std::vector<std::string>& args,
                         absl::string_view type);

// The C++ source of helper `name` (from BuiltinLowering::helper), placed in the
// generated file's anonymous namespace.
std::string BuiltinHelperSource(absl::string_view name);

}  // namespace featx

#endif  // FEATX_CODEGEN_BUILTINS_H_
