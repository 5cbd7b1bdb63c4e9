// tracer.h
//
// Turns a TorchScript module into a featx Graph, one per mode, following the
// leaf rules torchvision's FX tracer uses:
//   - `forward` is walked from the root. Calls of a non-leaf submodule's
//     `forward` are followed with the submodule's path as the scope; calls of
//     other methods and of user TorchScript functions are followed without
//     changing the scope, as FX does.
//   - Leaf modules become one call_module node: classes under torch.nn (except
//     the containers), classes under torchvision.ops, and anything named in
//     TraceOptions::leaf_modules.
//   - Leaf functions become one call_function node: TorchScript functions from
//     torch.* and torchvision.*, and anything in autowrap_functions.
//   - Constants, module attributes other than tensors, and everything computed
//     only from them are folded into literal arguments. `training` is the
//     traced mode, so `if self.training` keeps only the live branch. Loops with
//     a constant trip count are unrolled.
//   - Parameters and buffers used directly become get_attr nodes.
//   - A result that is a tuple or list is taken apart by getitem nodes
//     (prim::TupleIndex, aten::__getitem__), as in FX.
//   - Conditions that depend on the input stay as structured `if`/`loop` nodes.
//   - An operator that fails on its constant inputs stays a runtime node.
//     Code after a `raise` that always runs is unreachable and not walked, so
//     prim::Uninitialized values are never evaluated.
//   - An overloaded forward (nn.LSTM's forward__0, forward__1) is a forward.
//     A list attribute of the module's own parameters (nn.LSTM's
//     `_flat_weights`) is a list of get_attr nodes.
//   - `self.x = v` in forward is state local to the call: later reads see `v`.
//     It is refused where a value could carry over between calls (read before
//     assigned) or where the assignment depends on the input.
// The module is only read, never changed.
//
// Example:
//   torch::jit::Module m = torch::jit::load("resnet18.pt");
//   absl::StatusOr<std::unique_ptr<featx::Graph>> g =
//       featx::Trace(m, featx::Mode::kEval, featx::TraceOptions{});

#ifndef FEATX_TRACER_TRACER_H_
#define FEATX_TRACER_TRACER_H_

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "torch/csrc/jit/api/module.h"

namespace featx {

enum class Mode { kTrain, kEval };

struct TraceOptions {
  // Modules to keep as one call_module node, each given by class name (short,
  // "ConvBlock", or qualified, "__main__.ConvBlock" / "__torch__.ConvBlock") or
  // by module path ("blocks.0").
  std::vector<std::string> leaf_modules;
  // TorchScript functions to keep as one call_function node, by short or
  // qualified name ("myfunc", "__torch__.mymodule.myfunc").
  std::vector<std::string> autowrap_functions;
  // Also trace the body of every leaf call into a block of its call_module or
  // call_function node, with everything inside inlined down to operators. The
  // body uses the call's argument nodes directly and its output node yields
  // the call's result. Names and selection are unchanged; the C++ back end
  // emits the bodies.
  bool with_bodies = false;
};

// Traces `module`'s forward in `mode`. Returns Unimplemented, naming the
// TorchScript node, its source location and the module path, for a construct
// the IR cannot represent (for example an attribute whose value carries over
// from one call of forward to the next).
absl::StatusOr<std::unique_ptr<Graph>> Trace(const torch::jit::Module& module, Mode mode,
                                             const TraceOptions& options);

// A LibTorch exception as one line a user can act on: the first non-empty
// line of its message, without the C++ backtrace, and with LibTorch's
// internal-assert wording ("... INTERNAL ASSERT FAILED at ..., please report a
// bug to PyTorch") rephrased by RephraseInternalAssert. Every featx API and
// the CLI report LibTorch errors through it.
std::string DescribeLibTorchError(const std::exception& e);

// `message` with any TORCH_INTERNAL_ASSERT text ("isInt() INTERNAL ASSERT
// FAILED at \"./aten/src/ATen/core/ivalue.h\":602, please report a bug to
// PyTorch. ...") rephrased ("isInt() is false: a consistency check inside
// LibTorch failed (ivalue.h:602) on a value featx gave it. ..."); other text
// unchanged.
std::string RephraseInternalAssert(absl::string_view message);

// "__torch__.torch.nn.modules.container.___torch_mangle_8.Sequential" ->
// "torch.nn.modules.container.Sequential".
std::string DemangleClassName(const std::string& qualified_name);

}  // namespace featx

#endif  // FEATX_TRACER_TRACER_H_
