// inline_torch_nn.h
//
// inline-torch-nn: the first of the optimized C++ back end's rewrites. The
// bodies of torch.nn's Conv2d, BatchNorm2d and ReLU leaves move into the graph
// that calls them, so that BatchNorm folding and activation fusion see plain
// operator calls whether a model holds these as modules (resnet) or calls the
// operators inside a torchvision.ops leaf (mobilenet_v3). A body that takes
// inputs of its own, returns something other than one node, or contains
// another such module stays a call.
//
// Example:
//   %1 = call_module conv1(%0) : Tensor class=__torch__.torch.nn.modules.conv.Conv2d {
//     %2 = get_attr conv1.weight
//     %3 = call_function aten::conv2d(%0, %2, None, ...)
//     output(%3)
//   }
// becomes
//   %2 = get_attr conv1.weight
//   %3 = call_function aten::conv2d(%0, %2, None, ...)
// and every user of %1 uses %3.

#ifndef FEATX_PASSES_INLINE_TORCH_NN_H_
#define FEATX_PASSES_INLINE_TORCH_NN_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

// Moves the bodies of leaf call_module nodes of torch.nn's Conv2d,
// BatchNorm2d and ReLU (classes under torch.nn.modules) into the graph that
// calls them, in every graph and block. Returns whether the graph changed.
absl::StatusOr<bool> InlineTorchNnModules(Graph& graph);

class InlineTorchNnModulesPass : public GraphPass {
 public:
  absl::string_view name() const override { return "inline-torch-nn"; }
  absl::StatusOr<bool> Run(Graph& graph) override { return InlineTorchNnModules(graph); }
};

}  // namespace featx

#endif  // FEATX_PASSES_INLINE_TORCH_NN_H_
