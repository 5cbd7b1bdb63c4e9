// protect_outputs.h
//
// protect-outputs: a feature extractor returns each value as it was when
// computed, but the graph's output node reads its arguments at the end. An
// output that a later, kept in-place write would overwrite (as
// ExtractorDeadCodeOptions decides what is kept) is returned through an
// aten::clone inserted right after it, named "<name>_clone":
//
//   %2 = call_module layer1.0.bn1(%1)
//   %3 = call_function aten::clone(%2, None)    // new; output(%3, ...)
//   %4 = call_module layer1.0.relu(%2) mutates=0 alias_of=0
//
// With the clone returned, dead-code elimination reading outputs when they are
// computed or at the end keeps the same nodes. Run it after set-outputs.

#ifndef FEATX_PRUNING_PROTECT_OUTPUTS_H_
#define FEATX_PRUNING_PROTECT_OUTPUTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

// Clones every output that needs it, once each (duplicate outputs share one
// clone). Appends the names of the cloned outputs to `copied`, if given, in
// output order. Precondition: Verify(graph) is ok.
absl::StatusOr<bool> ProtectOutputs(Graph& graph, std::vector<std::string>* copied = nullptr);

class ProtectOutputsPass : public GraphPass {
 public:
  absl::string_view name() const override { return "protect-outputs"; }
  absl::StatusOr<bool> Run(Graph& graph) override { return ProtectOutputs(graph, &copied_); }
  // The names of the outputs returned through a clone, in output order.
  const std::vector<std::string>& copied() const { return copied_; }

 private:
  std::vector<std::string> copied_;
};

}  // namespace featx

#endif  // FEATX_PRUNING_PROTECT_OUTPUTS_H_
