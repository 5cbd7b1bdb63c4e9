// types.h
//
// TorchScript types and values as C++: the C++ type of a value, and the C++
// expression of an argument passed as a parameter of a schema type (literal
// typing). Types are graph/type.h's structured Type; no LibTorch here.
//
//   CppType(Type::List(Type::Int()))         == "std::vector<int64_t>"
//   CppType(Type::Optional(Type::Tensor()))  == "c10::optional<at::Tensor>"
//   ArgumentExprs exprs(lookup);
//   exprs.Expr(Argument(int64_t{3}), Type::Float()) == "static_cast<double>(int64_t{3})"
//   exprs.Expr(Argument::List({1, 1}), Type::List(Type::Int())) == "at::IntArrayRef({1, 1})"

#ifndef FEATX_CODEGEN_TYPES_H_
#define FEATX_CODEGEN_TYPES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/schema.h"
#include "graph/type.h"

namespace featx {

// The C++ type of a value of TorchScript type `type`, for declarations (a
// node with several results: the std::tuple of them). Unimplemented for a
// type with no C++ form here.
absl::StatusOr<std::string> CppType(const Type& type);

// The type of the parameter an argument is passed as: a schema argument's
// type and fixed list size ("bool[3]"), a type the caller knows (a loop's
// trip count is an int), or unknown (an empty ParamType), when the C++ form
// follows from the argument alone.
struct ParamType {
  ParamType() = default;
  ParamType(Type t) : type(std::move(t)) {}  // NOLINT: implicit, Expr(a, Type::Bool())
  static ParamType Of(const SchemaArgument& argument);

  std::optional<Type> type;
  std::optional<int64_t> list_size;
};

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
  absl::StatusOr<std::string> Expr(const Argument& a, const ParamType& type,
                                   ListForm form = ListForm::kArrayRef) const;

  // The C++ name of a node's value, as it is held (an Optional stays one).
  absl::StatusOr<std::string> Value(const Node* node) const { return node_expr_(node); }

 private:
  absl::StatusOr<std::string> NodeValue(const Argument& a, const ParamType& type,
                                        bool optional_param) const;
  absl::StatusOr<std::string> ListExpr(const Argument& a, const ParamType& type,
                                       ListForm form) const;

  NodeLookup node_expr_;
};

}  // namespace featx

#endif  // FEATX_CODEGEN_TYPES_H_
