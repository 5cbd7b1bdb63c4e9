// from_c10.h
//
// Converts LibTorch's types, schemas and constants to featx's LibTorch-free
// IR (graph/type.h, graph/schema.h, graph/graph.h's Argument). The tracer
// fills every node's Type and every operator node's schema through these,
// once; nothing downstream reads LibTorch's types or schema text.
//
// Example:
//   const c10::FunctionSchema& s = node->schema();
//   absl::StatusOr<OperatorSchema> schema = SchemaFromC10(s);
//   // ToSchemaText(*schema) is what `std::cout << s` prints.

#ifndef FEATX_TRACER_FROM_C10_H_
#define FEATX_TRACER_FROM_C10_H_

#include "ATen/core/function_schema.h"
#include "ATen/core/ivalue.h"
#include "ATen/core/jit_type.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/schema.h"
#include "graph/type.h"

namespace featx {

// Any TensorType (with or without shape information) is Tensor. A type the IR
// does not model is Type::Named with LibTorch's name for it (a TorchScript
// class or named tuple: its qualified name).
Type TypeFromC10(const c10::TypePtr& type);

// The schema with every argument's real type (ScalarType, not int), list
// size, default, keyword-only flag and alias annotations. Unimplemented if a
// default is a constant the IR has no literal for.
absl::StatusOr<OperatorSchema> SchemaFromC10(const c10::FunctionSchema& schema);

// A constant as a literal argument: None (also for an uninitialized value),
// bool, int, float, string, device, and lists and tuples of these.
// Unimplemented for other constants.
absl::StatusOr<Argument> LiteralFromIValue(const c10::IValue& value);

}  // namespace featx

#endif  // FEATX_TRACER_FROM_C10_H_
