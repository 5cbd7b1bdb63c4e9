// schema.h
//
// What the C++ emitter derives from an operator's typed schema
// (graph/schema.h, which the tracer fills from LibTorch's FunctionSchema and
// every operator node carries): the at::_ops entry point that calls it, and
// whether a node's arguments fit that typed form.
//
//   const OperatorSchema& s = *node.schema();   // aten::add.Tensor(...)
//   AtenOpsStruct(s) == "add_Tensor"             // at::_ops::add_Tensor::call
//   AtenOpsHeader(s) == "add"                    // <ATen/ops/add_ops.h>

#ifndef FEATX_CODEGEN_SCHEMA_H_
#define FEATX_CODEGEN_SCHEMA_H_

#include <string>

#include "graph/graph.h"
#include "graph/schema.h"

namespace featx {

// The at::_ops struct of an ATen operator: aten::add.Tensor -> "add_Tensor".
std::string AtenOpsStruct(const OperatorSchema& schema);

// The ATen/ops header stem that declares it: in-place variants live with
// the out-of-place operator (add_ in add_ops.h), dunders without underscores
// (__and__ in and_ops.h).
std::string AtenOpsHeader(const OperatorSchema& schema);

// False if node `n`'s arguments cannot be passed to the operator's typed
// at::_ops form: an optional list held as a value (c10::optional<std::vector>)
// does not convert to the c10::OptionalArrayRef the typed form takes.
bool HasTypedForm(const Node& n, const OperatorSchema& schema);

// True if the node passes more arguments than the schema declares, or the
// schema ends with "..." (aten::format): no typed or boxed call fits.
bool IsVariadicCall(const Node& n, const OperatorSchema& schema);

}  // namespace featx

#endif  // FEATX_CODEGEN_SCHEMA_H_
