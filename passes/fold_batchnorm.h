// fold_batchnorm.h
//
// Eval-mode BatchNorm folded into the convolution before it, for the
// optimized C++ back end. The pass edits the Graph; the caller, which has the
// tensors, computes the new weights from the returned records (in double,
// stored as float):
//
//   s  = gamma / sqrt(running_var + eps)
//   W' = W * s[:, None, None, None]
//   b' = (b - running_mean) * s + beta        (b = 0 without a conv bias)
//
// Where it folds: on operators, not on modules. torchvision models hold the
// same Conv2d -> BatchNorm2d pair in two shapes: as two leaf call_module nodes
// whose bodies call aten::conv2d and aten::batch_norm (resnet), and as plain
// operator calls inside the body of a torchvision.ops leaf such as
// Conv2dNormActivation (mobilenet_v3, efficientnet). InlineTorchNnModules
// (inline_torch_nn.h)
// first turns the first shape into the second (the bodies of torch.nn's
// Conv2d, BatchNorm2d and ReLU move into the graph that called them), so one
// operator-level rule covers both, and BatchNorm's own "expected 4D input"
// check survives the fold.
//
// A fold happens only when the convolution's value is used by nothing but the
// batch_norm (and shape reads, aten::dim / aten::size, which folding does not
// change): never when it is returned or read elsewhere.
//
// Example:
//   %3 = call_function aten::conv2d(%0, %1, None, [1, 1], [1, 1], [1, 1], 1)
//   %8 = call_function aten::batch_norm(%3, %4, %5, %6, %7, false, 0.1, 1e-05, true)
// becomes
//   %9 = get_attr conv.weight@bn
//   %10 = get_attr conv.weight@bn.bias
//   %3 = call_function aten::conv2d(%0, %9, %10, [1, 1], [1, 1], [1, 1], 1)
// and every user of %8 uses %3.

#ifndef FEATX_PASSES_FOLD_BATCHNORM_H_
#define FEATX_PASSES_FOLD_BATCHNORM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

// One folded convolution: the new get_attr targets and where their values come from.
struct FoldedBatchNorm {
  std::string weight;       // new target: "<conv weight>@<bn>"
  std::string bias;         // new target: "<conv weight>@<bn>.bias"
  std::string conv_weight;  // "layer1.0.conv1.weight"
  std::string conv_bias;    // "" if the convolution has none
  std::string bn_weight;    // gamma; "" if the BatchNorm is not affine
  std::string bn_bias;      // beta; "" if the BatchNorm is not affine
  std::string running_mean;
  std::string running_var;
  double eps = 1e-5;
};

// fold-batchnorm: folds every eval-mode aten::batch_norm (training = false)
// whose input is an aten::conv2d with a get_attr weight, in every graph and
// block, under the rule above. Run InlineTorchNnModules first to reach
// module-level pairs.
//
// The data this pass needs but the graph does not hold: the new get_attr
// targets ("conv1.weight@bn1") name tensors no model has. The pass cannot
// compute them (no LibTorch here); it records, in folds(), each new target
// and the model tensors it is made of, and whoever writes the weights must
// compute every target listed there, with the formula above (the C++ back
// end's weights writer does). A graph after this pass is not runnable
// without them.
class FoldBatchNormPass : public GraphPass {
 public:
  absl::string_view name() const override { return "fold-batchnorm"; }
  // Returns whether the graph changed.
  absl::StatusOr<bool> Run(Graph& graph) override;
  // What was folded, in graph order; targets are unique. Accumulates over
  // runs.
  const std::vector<FoldedBatchNorm>& folds() const { return folds_; }

 private:
  std::vector<FoldedBatchNorm> folds_;
};

}  // namespace featx

#endif  // FEATX_PASSES_FOLD_BATCHNORM_H_
