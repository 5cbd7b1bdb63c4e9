// pruning.h
//
// Steps 1 and 2 of torchvision's feature extraction: make the selected nodes
// the graph's results, then remove everything they do not need. Asserts that
// the original program would have run before the last output stay, and a
// returned value is never overwritten by a later in-place op that the pruned
// graph still runs: such an output is cloned first.
//
// PruneToOutputs runs these passes, in this order (PruningPasses lists them):
//   set-outputs      the selected nodes become the output node's arguments
//   protect-outputs  an output that a later kept in-place write would change is
//                    returned through an aten::clone right after it
//   dead-code        EliminateDeadCode (dead_code.h), outputs read as computed,
//                    asserts after the last output dropped
//   collect          the parameters and modules that survive (reads only)
//
// Example:
//   absl::StatusOr<PruneResult> pruned = featx::PruneToOutputs(graph, {bn1, conv2});
//   // graph: ... bn1; clone(bn1); relu_(bn1); conv2 ...; output(clone, conv2)
//   // pruned->copied == {"layer1.0.bn1"}

#ifndef FEATX_PRUNING_PRUNING_H_
#define FEATX_PRUNING_PRUNING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "pruning/dead_code.h"

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

// A graph pass: returns whether it changed the graph.
struct Pass {
  std::string name;
  std::function<absl::StatusOr<bool>(Graph&)> run;
};

// The dead-code options of an extractor: outputs are read when computed (the
// protect-outputs pass keeps them so), and asserts after the last output are
// not run.
DeadCodeOptions ExtractorDeadCodeOptions();

// set-outputs. InvalidArgument if an output is not a top-level, non-output node.
absl::StatusOr<bool> SetOutputs(Graph& graph, const std::vector<Node*>& outputs);

// protect-outputs: clones every output that a live in-place write after it
// (as ExtractorDeadCodeOptions decides liveness) would overwrite. Appends the
// names of the cloned outputs to `copied`, if given.
absl::StatusOr<bool> ProtectOutputs(Graph& graph, std::vector<std::string>* copied = nullptr);

// collect: the parameters and modules `graph` uses. Never changes the graph.
absl::StatusOr<bool> CollectParameters(Graph& graph, PruneResult* result);

// The passes PruneToOutputs runs, in order, each with its name; `result`
// receives what they report.
std::vector<Pass> PruningPasses(const std::vector<Node*>& outputs, PruneResult* result);

// Makes `outputs` the graph's results (one output argument per entry, in
// order; duplicates allowed) and erases every top-level node they do not need.
// Placeholders always stay. Dead nodes inside blocks and leaf bodies go too.
// Precondition: Verify(graph) is ok (FailedPrecondition otherwise). Errors:
// InvalidArgument if an output is not a top-level, non-output node of `graph`.
absl::StatusOr<PruneResult> PruneToOutputs(Graph& graph, const std::vector<Node*>& outputs);

}  // namespace featx

#endif  // FEATX_PRUNING_PRUNING_H_
