// schema.h
//
// An operator's schema without LibTorch: its name and overload, its typed
// arguments (defaults, keyword-only, alias annotations) and returns, as
// TorchScript's FunctionSchema has them. The tracer fills one per operator
// from c10::FunctionSchema (tracer/c10_convert.h); every call_function node of
// an operator carries it (Node::schema()). The text form is the JIT schema
// syntax, and ToSchemaText prints exactly what LibTorch's
// `operator<<(std::ostream&, const c10::FunctionSchema&)` prints, so code that
// read LibTorch's schema text can read this one.
//
// Example:
//   absl::StatusOr<OperatorSchema> s = ParseSchema(
//       "aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)");
//   // s->arguments[0].alias->is_write, s->arguments[2].kwarg_only,
//   // *s->arguments[2].default_value == Argument::Int(1)
//   // WrittenArguments(*s) == {0}, AliasedArgument(*s) == 0
//   // ToSchemaText(*s) is the text above.

#ifndef FEATX_GRAPH_SCHEMA_H_
#define FEATX_GRAPH_SCHEMA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/type.h"

namespace featx {

// An alias annotation: "(a)" reads alias set a, "(a!)" also writes it,
// "(a -> *)" enters the wildcard set, "(a|b)" is in both. Sets are named
// without namespace, in the order written; "*" is the wildcard.
struct AliasAnnotation {
  std::vector<std::string> before_sets;
  std::vector<std::string> after_sets;  // equal to before_sets unless "->" was written
  bool is_write = false;

  friend bool operator==(const AliasAnnotation& a, const AliasAnnotation& b) {
    return a.before_sets == b.before_sets && a.after_sets == b.after_sets &&
           a.is_write == b.is_write;
  }
};

// One argument or return of a schema.
struct SchemaArgument {
  std::string name;  // may be empty for a return
  Type type;
  // "int[2] stride": the list's size, which TorchScript keeps on the argument.
  std::optional<int64_t> list_size;
  // The default, a literal (None, bool, int, float, string, list of these).
  std::optional<Argument> default_value;
  bool kwarg_only = false;
  // "Tensor(a!) self": the annotation on the value itself.
  std::optional<AliasAnnotation> alias;
  // "Tensor(a)[] self": the annotation on a list's elements (chunk, split).
  std::optional<AliasAnnotation> element_alias;

  friend bool operator==(const SchemaArgument& a, const SchemaArgument& b);
};

struct OperatorSchema {
  std::string name;      // "aten::add"
  std::string overload;  // "Tensor"; empty for none
  std::vector<SchemaArgument> arguments;
  std::vector<SchemaArgument> returns;
  bool is_vararg = false;  // arguments end with "..."
  bool is_varret = false;  // returns end with "..."

  // "aten::add.Tensor", the target of a node calling this overload.
  std::string Target() const;

  friend bool operator==(const OperatorSchema& a, const OperatorSchema& b);
};

// The JIT schema text, as LibTorch prints a c10::FunctionSchema.
std::string ToSchemaText(const OperatorSchema& schema);

// Parses JIT schema text as ToSchemaText prints it (and as native_functions
// declares it, apart from symbolic defaults such as `contiguous_format`).
// InvalidArgument with the position on bad input.
absl::StatusOr<OperatorSchema> ParseSchema(absl::string_view text);

// Indices of the arguments the operator writes ("Tensor(a!)", "Tensor(a!)[]").
std::vector<int> WrittenArguments(const OperatorSchema& schema);

// The index of the argument whose storage the operator's single return
// shares ("Tensor(a) self -> Tensor(a)"; also "-> Tensor(a)[]", chunk's
// pieces), or -1. The wildcard set aliases nothing in particular.
int AliasedArgument(const OperatorSchema& schema);

}  // namespace featx

#endif  // FEATX_GRAPH_SCHEMA_H_
