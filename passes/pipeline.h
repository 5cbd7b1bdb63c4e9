// pipeline.h
//
// The one place that lists which passes run, in which order, between
// selecting the return nodes of a traced, named graph and handing it to a
// back end. featx.h's API builds every extractor through it, and
// `featx graph --print_after=PASS` shows the graph after any of its passes.
//
//   kTorchScript, kCppExact:  set-outputs → protect-outputs → dead-code →
//                             collect-parameters
//   kCppOptimized:            set-outputs → protect-outputs → dead-code →
//                             inline-torch-nn → fold-batchnorm →
//                             fuse-activations → collect-parameters
//
// The graph is verified (graph.h's Verify) before the first pass and after
// each. Two passes report what the caller needs beyond the graph: which
// outputs were cloned (protect-outputs) and, for kCppOptimized, which
// BatchNorms were folded into which new weights (fold-batchnorm: the caller
// must compute those tensors; see fold_batchnorm.h). collect-parameters runs
// last, so its list is what the back end must provide, folded weights
// included.
//
// Example:
//   ExtractorPipeline p = MakeExtractorPipeline(PipelineKind::kCppOptimized, outputs);
//   RETURN_IF_ERROR(p.passes->Run(*graph).status());
//   for (const FoldedBatchNorm& f : p.fold_batchnorm->folds()) { ... }

#ifndef FEATX_PASSES_PIPELINE_H_
#define FEATX_PASSES_PIPELINE_H_

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/pass_pipeline.h"
#include "passes/fold_batchnorm.h"
#include "pruning/collect_parameters.h"
#include "pruning/protect_outputs.h"

namespace featx {

enum class PipelineKind {
  // CreateFeatureExtractor's graphs (both modes).
  kTorchScript,
  // GenerateCppExtractor with CppOptimization::kNone, or in train mode: one
  // ATen call per node, bit-exact with the interpreter.
  kCppExact,
  // GenerateCppExtractor with CppOptimization::kInference in eval mode.
  kCppOptimized,
};

// "torchscript", "cpp-exact", "cpp-optimized".
const char* PipelineKindName(PipelineKind kind);

struct ExtractorPipeline {
  std::unique_ptr<PassPipeline> passes;
  // Owned by `passes`; read them after passes->Run.
  const ProtectOutputsPass* protect_outputs = nullptr;
  const CollectParametersPass* collect_parameters = nullptr;
  // Null unless kCppOptimized.
  const FoldBatchNormPass* fold_batchnorm = nullptr;
};

// The passes `kind` runs, pruning to `outputs` (top-level nodes of the graph
// the pipeline will run on, in the order the extractor returns them).
ExtractorPipeline MakeExtractorPipeline(PipelineKind kind, std::vector<Node*> outputs);

// The names of the passes `kind` runs, in order.
std::vector<std::string> ExtractorPassNames(PipelineKind kind);

}  // namespace featx

#endif  // FEATX_PASSES_PIPELINE_H_
