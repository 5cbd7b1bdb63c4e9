// builtins.h
//
// TorchScript builtins (scalar, list, string and dict operators that are not
// ATen dispatcher operators) lowered to plain C++, as one table from operator
// target to a C++ expression template. No LibTorch here; the operator emitter
// (emit_ops.cc) fills the templates with argument expressions.
//
// Template placeholders: $0, $1, ... are the arguments' C++ expressions, $T is
// the C++ type of the node's value. A lowering with `statement` set is emitted
// as a statement whose value is its first argument (an in-place write such as
// a list's append) or None. A lowering with `custom` set computes its
// expression from the node (it needs more than the argument expressions).
//
// Adding a lowering is one row in builtins.cc plus a golden case in
// cpp_test.cc. Example:
//   const BuiltinLowering* b = FindBuiltinLowering("prim::max.float");
//   // b->expr == "std::max<double>($0, $1)"
//   FillTemplate(b->expr, {"a", "b"}, "double") == "std::max<double>(a, b)"
//
// A helper named by a row (FloorDiv, GetItem, ...) is a section of the
// runtime (runtime/featx_runtime.h), copied into the generated file once.
// Operators missing here are called boxed through LibTorch's operator
// registry (see emit_ops.cc).

#ifndef FEATX_CODEGEN_BUILTINS_H_
#define FEATX_CODEGEN_BUILTINS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codegen/types.h"
#include "graph/graph.h"

namespace featx {

// What a custom lowering sees.
struct LoweringContext {
  const Node& node;
  const std::vector<std::string>& args;  // the arguments' C++ expressions
  const ArgumentExprs& exprs;            // to spell an argument another way
};

struct BuiltinLowering {
  const char* expr = nullptr;     // C++ template, see above (null for custom)
  const char* helper = nullptr;   // a runtime section it needs, or null
  const char* include = nullptr;  // a header it needs, or null
  bool statement = false;         // emitted as a statement, not a value
  absl::StatusOr<std::string> (*custom)(const LoweringContext&) = nullptr;
};

// The lowering for `target` ("aten::numel", "prim::max.self_int"), or null.
const BuiltinLowering* FindBuiltinLowering(absl::string_view target);

// Replaces $0..$9 with `args` and $T with `type`.
std::string FillTemplate(absl::string_view tmpl, const std::vector<std::string>& args,
                         absl::string_view type);

}  // namespace featx

#endif  // FEATX_CODEGEN_BUILTINS_H_
