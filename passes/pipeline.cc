#include "passes/pipeline.h"

#include <utility>

#include "passes/fuse_activations.h"
#include "passes/inline_torch_nn.h"
#include "pruning/pruning.h"

namespace featx {

const char* PipelineKindName(PipelineKind kind) {
  switch (kind) {
    case PipelineKind::kTorchScript:
      return "torchscript";
    case PipelineKind::kCppExact:
      return "cpp-exact";
    case PipelineKind::kCppOptimized:
      return "cpp-optimized";
  }
  return "";
}

ExtractorPipeline MakeExtractorPipeline(PipelineKind kind, std::vector<Node*> outputs) {
  ExtractorPipeline p;
  p.passes = std::make_unique<PassPipeline>(PipelineKindName(kind));
  PassPipeline& passes = *p.passes;
  p.protect_outputs = &AddPruningPasses(passes, std::move(outputs));
  if (kind == PipelineKind::kCppOptimized) {
    passes.AddPass(std::make_unique<InlineTorchNnModulesPass>());
    p.fold_batchnorm = &passes.AddPass(std::make_unique<FoldBatchNormPass>());
    passes.AddPass(std::make_unique<FuseActivationsPass>());
  }
  p.collect_parameters = &passes.AddPass(std::make_unique<CollectParametersPass>());
  return p;
}

std::vector<std::string> ExtractorPassNames(PipelineKind kind) {
  return MakeExtractorPipeline(kind, {}).passes->PassNames();
}

}  // namespace featx
