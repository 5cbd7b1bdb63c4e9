// schema.h
//
// What the C++ emitter reads from an operator's schema text. Everything the
// emitter knows about an operator's signature goes through this narrow
// interface, so that reading a typed schema (once //graph carries one)
// instead of text is a change to schema.cc alone.
//
//   absl::StatusOr<Schema> s = ParseSchema(
//       "aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");
//   // s->name == "aten::add", s->overload == "Tensor",
//   // s->params[2] == {"Scalar", "alpha", /*kwarg_only=*/true}, s->returns == 1
//   AtenOpsStruct(*s) == "add_Tensor"      // at::_ops::add_Tensor::call
//   AtenOpsHeader(*s) == "add"             // <ATen/ops/add_ops.h>
//
// Types are spelled as in schemas, with alias annotations removed:
// "Tensor", "int[]", "Tensor?[]", "SymInt[]?", "t[]".

#ifndef FEATX_CODEGEN_SCHEMA_H_
#define FEATX_CODEGEN_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace featx {

struct SchemaParam {
  std::string type;  // alias annotations removed: "Tensor(a!)" is "Tensor"
  std::string name;
  bool kwarg_only = false;
};

struct Schema {
  std::string name;      // "aten::add"
  std::string overload;  // "Tensor"; "" for none
  std::vector<SchemaParam> params;
  bool vararg = false;  // "..." among the arguments (aten::format)
  int returns = 1;      // "-> Tensor" 1, "-> (Tensor, Tensor)" 2, "-> ()" 0
};

// Reads "ns::name.overload(args) -> returns". InvalidArgument if it is not a schema.
absl::StatusOr<Schema> ParseSchema(absl::string_view text);

// The at::_ops struct of an ATen operator: aten::add.Tensor -> "add_Tensor".
std::string AtenOpsStruct(const Schema& schema);

// The ATen/ops header stem that declares it: in-place variants live with
// the out-of-place operator (add_ in add_ops.h), dunders without underscores
// (__and__ in and_ops.h).
std::string AtenOpsHeader(const Schema& schema);

// False if node `n`'s arguments cannot be passed to the operator's typed
// at::_ops form: an optional list held as a value (c10::optional<std::vector>)
// does not convert to the c10::OptionalArrayRef the typed form takes.
bool HasTypedForm(const Node& n, const Schema& schema);

// Splits a type or argument list at top-level commas, trimming spaces:
// "Tensor, int[2] x, (int, int)" -> {"Tensor", "int[2] x", "(int, int)"}.
std::vector<std::string> SplitTopLevel(absl::string_view s);

}  // namespace featx

#endif  // FEATX_CODEGEN_SCHEMA_H_
