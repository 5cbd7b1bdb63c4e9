#include "pruning/pruning.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace featx {

const ProtectOutputsPass& AddPruningPasses(PassPipeline& pipeline, std::vector<Node*> outputs) {
  pipeline.AddPass(std::make_unique<SetOutputsPass>(std::move(outputs)));
  const ProtectOutputsPass& protect = pipeline.AddPass(std::make_unique<ProtectOutputsPass>());
  pipeline.AddPass(std::make_unique<DeadCodePass>(ExtractorDeadCodeOptions()));
  return protect;
}

absl::StatusOr<PruneResult> PruneToOutputs(Graph& graph, const std::vector<Node*>& outputs) {
  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prune an invalid graph: ", s.message()));
  }
  // Verified once before and once after, as before the pipeline existed.
  PassPipeline pipeline("pruning", PassPipeline::Verification::kNone);
  const ProtectOutputsPass& protect = AddPruningPasses(pipeline, outputs);
  const CollectParametersPass& collect =
      pipeline.AddPass(std::make_unique<CollectParametersPass>());
  absl::StatusOr<bool> changed = pipeline.Run(graph);
  if (!changed.ok()) return changed.status();
  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::InternalError(absl::StrCat("pruning left an invalid graph: ", s.message()));
  }
  return PruneResult{
      .parameters = collect.parameters(), .modules = collect.modules(), .copied = protect.copied()};
}

}  // namespace featx
