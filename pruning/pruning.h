// pruning.h
//
// Steps 1 and 2 of torchvision's feature extraction: make the selected nodes
// the graph's results, then remove everything they do not need. Asserts that
// the original program would have run before the last output stay, and a
// returned value is never overwritten by a later in-place op that the pruned
// graph still runs: such an output is cloned first.
//
// Example:
//   absl::StatusOr<PruneResult> pruned = featx::PruneToOutputs(graph, {bn1, conv2});
//   // graph: ... bn1; clone(bn1); relu_(bn1); conv2 ...; output(clone, conv2)
//   // pruned->copied == {"layer1.0.bn1"}

#ifndef FEATX_PRUNING_PRUNING_H_
#define FEATX_PRUNING_PRUNING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace featx {

struct PruneResult {
  // get_attr targets that survive (parameters and buffers read directly), sorted, unique.
  std::vector<std::string> parameters;
  // call_module targets that survive, sorted, unique.
  std::vector<std::string> modules;
  // Names of the outputs that are returned through a protective aten::clone
  // (named "<name>_clone"), once each, in output order.
  std::vector<std::string> copied;
};

// Makes `outputs` the graph's results (one output argument per entry, in
// order; duplicates allowed) and erases every top-level node they do not need.
// Placeholders always stay. Nodes in blocks stay or go with their `if`/`loop`.
// Precondition: Verify(graph) is ok (FailedPrecondition otherwise). Errors:
// InvalidArgument if an output is not a top-level, non-output node of `graph`.
absl::StatusOr<PruneResult> PruneToOutputs(Graph& graph, const std::vector<Node*>& outputs);

}  // namespace featx

#endif  // FEATX_PRUNING_PRUNING_H_
