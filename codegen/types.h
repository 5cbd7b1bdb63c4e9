// types.h
//
// TorchScript types and values as C++: the C++ type of a value, and the C++
// expression of an argument passed as a parameter of a schema type (literal
// typing). No LibTorch here.
//
//   CppType("List[int]")        == "std::vector<int64_t>"
//   CppType("Optional[Tensor]") == "c10::optional<at::Tensor>"
//   ArgumentExprs exprs(lookup);
//   exprs.Expr(Argument(int64_t{3}), "float")   == "static_cast<double>(int64_t{3})"
//   exprs.Expr(Argument::List({1, 1}), "int[]") == "at::IntArrayRef({1, 1})"
//
// Types come in two spellings (schemas: "int[]", "Tensor?"; node types:
// "List[int]", "Optional[Tensor]"); both are accepted.

#ifndef FEATX_CODEGEN_TYPES_H_
#define FEATX_CODEGEN_TYPES_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace featx {

// The C++ type of a value of TorchScript type `type`, for declarations.
// Unimplemented for a type with no C++ form here.
absl::StatusOr<std::string> CppType(absl::string_view type);

// "List[int]" / "int[]" -> "int"; any other type unchanged.
std::string ListElementType(absl::string_view type);

// Whether `type` is an Optional ("Optional[T]" or "T?").
bool IsOptionalType(absl::string_view type);

// How int lists are passed: as at::IntArrayRef to ATen's typed calls, as
// std::vector to builtins and boxed calls (which keep or copy them).
enum class ListForm { kArrayRef, kVector };

// Builds argument expressions; the C++ names of node values come from the caller.
class ArgumentExprs {
 public:
  using NodeLookup = std::function<absl::StatusOr<std::string>(const Node*)>;
  explicit ArgumentExprs(NodeLookup node_expr) : node_expr_(std::move(node_expr)) {}

  // The C++ expression for `a` passed as a parameter of schema type `type`
  // ("" when unknown).
  absl::StatusOr<std::string> Expr(const Argument& a, absl::string_view type,
                                   ListForm form = ListForm::kArrayRef) const;

  // The C++ name of a node's value, as it is held (an Optional stays one).
  absl::StatusOr<std::string> Value(const Node* node) const { return node_expr_(node); }

 private:
  absl::StatusOr<std::string> NodeValue(const Argument& a, absl::string_view type,
                                        bool optional_param) const;
  absl::StatusOr<std::string> ListExpr(const Argument& a, absl::string_view type,
                                       ListForm form) const;

  NodeLookup node_expr_;
};

}  // namespace featx

#endif  // FEATX_CODEGEN_TYPES_H_
