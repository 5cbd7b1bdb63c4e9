// cpp_backend.h
//
// The LibTorch side of the C++ back end: what the LibTorch-free emitter
// (cpp.h) needs from the model and from LibTorch's operator registry.
//
//   ASSIGN_OR_RETURN(input.operators, OperatorTable(*graph));   // before EmitCppExtractor
//   ASSIGN_OR_RETURN(auto tensors, ExtractorWeights(model, input.weights, folds));
//   ASSIGN_OR_RETURN(std::vector<char> bytes, WriteWeightsFile(fingerprint, tensors));
//
// //:featx's GenerateCppExtractor is these calls around the pass pipeline.

#ifndef FEATX_CODEGEN_CPP_BACKEND_H_
#define FEATX_CODEGEN_CPP_BACKEND_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ATen/core/Tensor.h"
#include "absl/status/statusor.h"
#include "codegen/cpp.h"
#include "graph/graph.h"
#include "passes/fold_batchnorm.h"
#include "torch/csrc/jit/api/module.h"

namespace featx {

// The schema and kind of every operator `graph` calls, in every block. The
// schema is the one the tracer gave the node; a node a pass made (pruning's
// aten::clone) has none and gets the registry's. NotFound for an operator
// neither has.
absl::StatusOr<std::map<std::string, OperatorInfo>> OperatorTable(const Graph& graph);

// The tensor at `path` ("layer1.0.conv1.weight") in `model`; NotFound if
// there is none.
absl::StatusOr<at::Tensor> TensorAt(const torch::jit::Module& model, const std::string& path);

// The weights file's tensors for the get_attr targets `weights`, in order:
// the model's own, or for a target the fold-batchnorm pass made (in
// `folds`), the folded convolution weight or bias, computed in double and
// stored in the convolution's dtype.
absl::StatusOr<std::vector<std::pair<std::string, at::Tensor>>> ExtractorWeights(
    const torch::jit::Module& model, const std::vector<std::string>& weights,
    const std::vector<FoldedBatchNorm>& folds);

}  // namespace featx

#endif  // FEATX_CODEGEN_CPP_BACKEND_H_
