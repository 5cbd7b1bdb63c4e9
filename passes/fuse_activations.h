// fuse_activations.h
//
// ReLU fused into the operation before it, for the optimized C++ back end
// (eval mode only; the exact back end never runs this pass):
//
//   - aten::conv2d followed by aten::relu / aten::relu_ becomes one
//     featx::conv2d_relu node (same arguments as aten::conv2d). That is not an
//     ATen operator: only the optimized C++ emitter knows it, and emits a
//     prepacked convolution with the ReLU fused in (codegen/cpp_optimize.h).
//     Only convolutions the emitter can prepack are fused (MatchConv2d).
//   - aten::add.Tensor followed by a ReLU becomes aten::_add_relu.Tensor;
//     aten::add_.Tensor directly followed by aten::relu_ becomes
//     aten::_add_relu_.Tensor (both are ATen operators).
//
// The rule is BatchNorm folding's: the pre-activation value must be used by
// nothing but the ReLU (shape reads aside, for the convolution), so it is
// never a returned value. An in-place add must be followed directly by the
// in-place ReLU, so nothing can read the sum in between.
//
// Example (resnet's residual, after InlineTorchNnModules):
//   %9 = call_function aten::add_.Tensor(%7, %8, 1) : Tensor mutates=0 alias_of=0
//   %10 = call_function aten::relu_(%9) : Tensor mutates=0 alias_of=0
// becomes
//   %11 = call_function aten::_add_relu_.Tensor(%7, %8, 1) : Tensor mutates=0 alias_of=0

#ifndef FEATX_PASSES_FUSE_ACTIVATIONS_H_
#define FEATX_PASSES_FUSE_ACTIVATIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

// The target of a convolution with a fused ReLU.
inline constexpr char kConv2dRelu[] = "featx::conv2d_relu";

// A 2-D convolution whose weights are parameters and whose geometry is
// literal: what the optimized emitter can prepack.
struct Conv2dCall {
  const Node* input = nullptr;
  std::string weight;  // get_attr target
  std::string bias;    // get_attr target, or "" for None
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
  bool relu = false;  // featx::conv2d_relu
};

// Matches aten::conv2d(x, W, b|None, [s, s], [p, p], [d, d], g) and
// featx::conv2d_relu with the same arguments, where W and b are get_attr nodes.
std::optional<Conv2dCall> MatchConv2d(const Node& node);

// Fuses as described above, in every graph and block. Returns whether the
// graph changed.
absl::StatusOr<bool> FuseActivations(Graph& graph);

// fuse-activations: FuseActivations as a pass.
class FuseActivationsPass : public GraphPass {
 public:
  absl::string_view name() const override { return "fuse-activations"; }
  absl::StatusOr<bool> Run(Graph& graph) override { return FuseActivations(graph); }
};

}  // namespace featx

#endif  // FEATX_PASSES_FUSE_ACTIVATIONS_H_
