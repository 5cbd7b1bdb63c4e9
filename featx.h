// featx.h
//
// The public API of featx: torchvision's FX feature extraction for TorchScript
// models, in C++.
//
// Example:
//   absl::StatusOr<torch::jit::Module> model = featx::LoadModel("resnet18.pt");
//   absl::StatusOr<featx::NodeNames> names = featx::GetGraphNodeNames(*model, {});
//   // names->eval == {"x", "conv1", "bn1", "relu", "maxpool", "layer1.0.conv1", ...}
//
// No exception crosses this API: LibTorch errors come back as absl::Status.

#ifndef FEATX_FEATX_H_
#define FEATX_FEATX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "torch/csrc/jit/api/module.h"
#include "tracer/tracer.h"

namespace featx {

// Loads a TorchScript file. NotFound if the file does not exist,
// InvalidArgument if it is not a TorchScript archive (truncated, corrupt, or
// another kind of file).
absl::StatusOr<torch::jit::Module> LoadModel(const std::string& path);

struct NodeNames {
  // How the two lists relate, in torchvision's terms.
  enum class Difference {
    kSame,
    kEvalIsSubsequenceOfTrain,
    kTrainIsSubsequenceOfEval,
    kDifferent,
  };

  std::vector<std::string> train;
  std::vector<std::string> eval;
  Difference difference = Difference::kSame;

  // The names of one mode.
  const std::vector<std::string>& ForMode(Mode mode) const {
    return mode == Mode::kTrain ? train : eval;
  }
};

// A sentence describing `d`, as torchvision's warning words it.
std::string DescribeDifference(NodeNames::Difference d);

// The names torchvision's get_graph_node_names gives, for train and eval mode,
// in execution order. As in torchvision, buffers read directly (such as a
// relative position index) are not listed; parameters are.
absl::StatusOr<NodeNames> GetGraphNodeNames(const torch::jit::Module& model,
                                            const TraceOptions& options);

}  // namespace featx

#endif  // FEATX_FEATX_H_
