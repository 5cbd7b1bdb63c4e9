// pruning.h
//
// Steps 1 and 2 of torchvision's feature extraction: make the selected nodes
// the graph's results, then remove everything they do not need. Asserts that
// the original program would have run before the last output stay, and a
// returned value is never overwritten by a later in-place op that the pruned
// graph still runs: such an output is cloned first.
//
// The pruning passes, in this order (AddPruningPasses appends them), each in
// its own file:
//   set-outputs         set_outputs.h: the selected nodes become the output
//                       node's arguments
//   protect-outputs     protect_outputs.h: an output that a later kept
//                       in-place write would change is returned through an
//                       aten::clone right after it
//   dead-code           dead_code.h: EliminateDeadCode, outputs read as
//                       computed, asserts after the last output dropped
// PruneToOutputs runs them and then collect-parameters (collect_parameters.h).
// The back ends' full pipelines (passes/pipeline.h) start with the same three.
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
#include "graph/pass_pipeline.h"
#include "pruning/collect_parameters.h"
#include "pruning/dead_code.h"
#include "pruning/protect_outputs.h"
#include "pruning/set_outputs.h"

namespace featx {

struct PruneResult {
  // get_attr targets that survive (parameters and buffers read directly),
  // sorted, unique. (Pruning does not know the model; the TorchScript back end
  // lays them out in the model's own order.)
  std::vector<std::string> parameters;
  // call_module targets that survive, sorted, unique.
  std::vector<std::string> modules;
  // Names of the outputs that are returned through a protective aten::clone
  // (named "<name>_clone"), once each, in output order.
  std::vector<std::string> copied;
};

// Appends set-outputs, protect-outputs and dead-code (extractor options) to
// `pipeline`, and returns the protect-outputs pass, which lists what it
// cloned after the pipeline ran. `outputs` are nodes of the graph the
// pipeline will run on.
const ProtectOutputsPass& AddPruningPasses(PassPipeline& pipeline, std::vector<Node*> outputs);

// Makes `outputs` the graph's results (one output argument per entry, in
// order; duplicates allowed) and erases every top-level node they do not need.
// Placeholders always stay. Dead nodes inside blocks and leaf bodies go too.
// Precondition: Verify(graph) is ok (FailedPrecondition otherwise). Errors:
// InvalidArgument if an output is not a top-level, non-output node of `graph`.
absl::StatusOr<PruneResult> PruneToOutputs(Graph& graph, const std::vector<Node*>& outputs);

}  // namespace featx

#endif  // FEATX_PRUNING_PRUNING_H_
