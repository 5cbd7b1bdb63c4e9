// type.h
//
// The type of a value in featx's IR, without LibTorch: the TorchScript types
// a traced graph and an operator schema can mention. A Type is a small value
// (copyable, comparable, hashable); containers hold their element types.
//
// TorchScript spells most types two ways, and both parse to the same Type:
//   Optional[T]  T?            List[T]      T[]  (and T[N] in a schema)
//   Tuple[A, B]  (A, B)        Dict[K, V]   Dict(K, V)
//   Future[T]    Future(T)     Union[A, B]  Union(A, B)
// ToString prints one canonical form, Python's annotation spelling
// ("List[int]", "Optional[Tensor]", "Tuple[Tensor, Tensor]", "NoneType"),
// which is also how the tracer spelled node types before types were
// structured. ToSchemaString prints the JIT schema spelling ("int[]",
// "Tensor?", "(Tensor, Tensor)", "Dict(str, t)") that operator schemas use.
//
// Example:
//   absl::StatusOr<Type> t = ParseType("Tensor?[]");
//   // *t == Type::List(Type::Optional(Type::Tensor()))
//   // t->ToString() == "List[Optional[Tensor]]", t->ToSchemaString() == "Tensor?[]"
//
// Types the IR has no use for beyond their name (Storage, Stream, QScheme, a
// TorchScript class or named tuple "__torch__.m.Point") are kNamed and print
// as that name. A lower-case name no builtin type has ("t", "t1", "tVal") is a
// schema's type variable (kVar), as in TorchScript's schema parser.

#ifndef FEATX_GRAPH_TYPE_H_
#define FEATX_GRAPH_TYPE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace featx {

class Type {
 public:
  enum class Kind {
    // Leaves.
    kTensor,
    kInt,
    kSymInt,
    kFloat,
    kComplex,
    kBool,
    kStr,
    kNone,
    kDevice,
    kScalar,  // "Scalar" (a number: int, float or complex); annotation "number"
    kScalarType,
    kLayout,
    kMemoryFormat,
    kGenerator,
    kAny,
    // Containers.
    kList,      // one contained type
    kOptional,  // one contained type
    kTuple,     // any number of contained types
    kDict,      // key, value
    kUnion,     // two or more contained types
    kFuture,    // one contained type
    // Named.
    kVar,    // a schema's type variable: "t"
    kNamed,  // any other type, by name: "Storage", "__torch__.m.Point"
  };

  // Tensor, the type most values have.
  Type() = default;

  static Type Tensor() { return Type(Kind::kTensor); }
  static Type Int() { return Type(Kind::kInt); }
  static Type Float() { return Type(Kind::kFloat); }
  static Type Bool() { return Type(Kind::kBool); }
  static Type Str() { return Type(Kind::kStr); }
  static Type None() { return Type(Kind::kNone); }
  static Type Device() { return Type(Kind::kDevice); }
  // Any leaf kind (kTensor ... kAny).
  static Type Leaf(Kind kind) { return Type(kind); }
  static Type List(Type element);
  static Type Optional(Type element);
  static Type Tuple(std::vector<Type> elements);
  static Type Dict(Type key, Type value);
  static Type Union(std::vector<Type> members);
  static Type Future(Type element);
  static Type Var(std::string name);
  static Type Named(std::string name);

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_optional() const { return kind_ == Kind::kOptional; }
  bool is_tuple() const { return kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }

  // Contained types: a List's, Optional's or Future's element, a Tuple's
  // elements, a Dict's key and value, a Union's members. Empty for leaves.
  const std::vector<Type>& contained() const { return contained_; }
  // The element of a List, Optional or Future. Precondition: one of those.
  const Type& element() const { return contained_.front(); }
  // The name of a kVar or kNamed; empty otherwise.
  const std::string& name() const { return name_; }

  // True if this is `kind` with every contained type (recursively) a Tensor:
  // Tensor, List[Tensor], Tuple[Tensor, Tensor], Dict[str, Tensor] (a dict's
  // key is not checked).
  bool IsTensorOrContainerOfTensors() const;
  // True if a Tensor occurs anywhere in this type.
  bool ContainsTensor() const;

  // The canonical spelling, Python's annotations: "Optional[List[int]]".
  std::string ToString() const;
  // The JIT schema spelling: "int[]?", "(Tensor, Tensor)", "Dict(str, Tensor)".
  std::string ToSchemaString() const;

  friend bool operator==(const Type& a, const Type& b) {
    return a.kind_ == b.kind_ && a.name_ == b.name_ && a.contained_ == b.contained_;
  }
  friend bool operator!=(const Type& a, const Type& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const Type& t) {
    return H::combine(std::move(h), t.kind_, t.name_, t.contained_);
  }

 private:
  explicit Type(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kTensor;
  std::string name_;
  std::vector<Type> contained_;
};

// Parses either spelling of a type (see the top of this file). `int[2]`
// parses as List[int]; a schema keeps the 2 (schema.h). InvalidArgument names
// the position on bad input.
absl::StatusOr<Type> ParseType(absl::string_view text);

// Parses the longest type at the start of `*text` and removes it (with
// leading spaces).
absl::StatusOr<Type> ConsumeType(absl::string_view* text);

// For the schema parser: like ConsumeType, but without the `[]` and `?`
// suffixes, between which a schema writes alias annotations ("Tensor(a)[]").
absl::StatusOr<Type> ConsumeBaseType(absl::string_view* text);

}  // namespace featx

#endif  // FEATX_GRAPH_TYPE_H_
