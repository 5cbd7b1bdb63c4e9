// set_outputs.h
//
// set-outputs: step 1 of torchvision's feature extraction. The selected nodes
// become the graph's results: one output argument per entry, in order,
// duplicates allowed. Nothing is erased (dead-code does that).
//
// Example:
//   %2 = call_function aten::relu(%0)
//   %3 = call_function aten::neg(%2)
//   output(%3)
// with outputs {%2} becomes the same nodes and `output(%2)`.

#ifndef FEATX_PRUNING_SET_OUTPUTS_H_
#define FEATX_PRUNING_SET_OUTPUTS_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

// InvalidArgument if an output is null, not a top-level node of `graph` (a
// value inside an if or loop cannot be returned), or the output node itself.
// The graph is unchanged on error.
absl::StatusOr<bool> SetOutputs(Graph& graph, const std::vector<Node*>& outputs);

class SetOutputsPass : public GraphPass {
 public:
  // `outputs` are nodes of the graph Run will get.
  explicit SetOutputsPass(std::vector<Node*> outputs) : outputs_(std::move(outputs)) {}
  absl::string_view name() const override { return "set-outputs"; }
  absl::StatusOr<bool> Run(Graph& graph) override { return SetOutputs(graph, outputs_); }

 private:
  std::vector<Node*> outputs_;
};

}  // namespace featx

#endif  // FEATX_PRUNING_SET_OUTPUTS_H_
