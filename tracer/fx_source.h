// fx_source.h (internal to //tracer)
//
// What a TorchScript node's source text tells: where it is, for messages,
// and how FX would have recorded it. FX records Python syntax; TorchScript
// records operators. Where the two spellings give different names, the
// node's source text (kept in every saved TorchScript file) tells which
// syntax made it: `y += x` is FX's operator.add but TorchScript's
// aten::add_, `x.shape` is FX's getattr but TorchScript's aten::size.

#ifndef FEATX_TRACER_FX_SOURCE_H_
#define FEATX_TRACER_FX_SOURCE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "torch/csrc/jit/ir/ir.h"

namespace featx {

// "resnet.py:92:14": the user's Python source when the archive records it,
// else the serialized TorchScript code; "" if neither.
std::string Location(const torch::jit::Node* node);

// "forward", or one overload of an overloaded forward: TorchScript compiles
// @torch.jit._overload_method forwards (nn.LSTM, densenet's _DenseLayer)
// into methods "forward__0", "forward__1".
bool IsForward(absl::string_view method);

// The op part of the name FX gives the value `node` computes ("getattr",
// "getitem", "truediv", "add" for `+=`), where it differs from the
// operator's own name; "" otherwise (NodeInit::fx_op).
std::string FxOpFromSource(const torch::jit::Node* node);

}  // namespace featx

#endif  // FEATX_TRACER_FX_SOURCE_H_
