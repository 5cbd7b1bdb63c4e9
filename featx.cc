#include "featx.h"

#include <fstream>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "codegen/torchscript.h"
#include "graph/status_macros.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "pruning/pruning.h"
#include "torch/csrc/jit/serialization/import.h"

namespace featx {

namespace {

// True if `sub` is a subsequence of `seq`.
bool IsSubsequence(const std::vector<std::string>& seq, const std::vector<std::string>& sub) {
  size_t j = 0;
  for (size_t i = 0; i < seq.size() && j < sub.size(); ++i) {
    if (seq[i] == sub[j]) ++j;
  }
  return j == sub.size();
}

absl::StatusOr<std::vector<std::string>> ListedNames(const torch::jit::Module& model, Mode mode,
                                                     const TraceOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, Trace(model, mode, options));
  NameNodes(*graph);
  std::vector<std::string> names;
  for (const auto& node : graph->nodes()) {
    if (node->op() == OpCode::kOutput) continue;
    // torchvision's tracer makes buffers get_attr nodes without recording a name.
    if (node->op() == OpCode::kGetAttr && node->module_type() == "buffer") continue;
    names.push_back(node->name());
  }
  return names;
}

// One mode's extractor graph: traced, named, pruned to the selected outputs.
struct PrunedMode {
  std::unique_ptr<Graph> graph;
  std::vector<std::string> keys;
};

absl::StatusOr<PrunedMode> PruneForMode(const torch::jit::Module& model, Mode mode,
                                        const std::vector<std::string>& return_nodes,
                                        const TraceOptions& options) {
  PrunedMode result;
  ASSIGN_OR_RETURN(result.graph, Trace(model, mode, options));
  NameNodes(*result.graph);
  ASSIGN_OR_RETURN(std::vector<ReturnNode> selected, SelectOutputs(*result.graph, return_nodes));
  std::vector<Node*> outputs;
  for (const ReturnNode& r : selected) {
    if (r.node->type() != "Tensor") {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", r.node->name(), "' (for '", r.query, "') is a ", r.node->type(),
          ", not a Tensor; only tensors can be returned"));
    }
    outputs.push_back(r.node);
    result.keys.push_back(r.key);
  }
  RETURN_IF_ERROR(PruneToOutputs(*result.graph, outputs).status());
  return result;
}

}  // namespace

absl::StatusOr<torch::jit::Module> CreateFeatureExtractor(const torch::jit::Module& model,
                                                          const ExtractorSpec& spec) {
  ASSIGN_OR_RETURN(auto per_mode,
                   ReturnNodesPerMode({.return_nodes = spec.return_nodes,
                                       .train_return_nodes = spec.train_return_nodes,
                                       .eval_return_nodes = spec.eval_return_nodes}));
  ASSIGN_OR_RETURN(PrunedMode train,
                   PruneForMode(model, Mode::kTrain, per_mode.first, spec.trace_options));
  ASSIGN_OR_RETURN(PrunedMode eval,
                   PruneForMode(model, Mode::kEval, per_mode.second, spec.trace_options));
  return BuildTorchScriptExtractor(model, {.graph = train.graph.get(), .keys = train.keys},
                                   {.graph = eval.graph.get(), .keys = eval.keys});
}

absl::StatusOr<torch::jit::Module> LoadModel(const std::string& path) {
  if (!std::ifstream(path).good()) {
    return absl::NotFoundError(absl::StrCat("cannot open model file '", path, "'"));
  }
  try {
    return torch::jit::load(path);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a readable TorchScript file: ",
                                                   what.substr(0, what.find('\n'))));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a readable TorchScript file: ", e.what()));
  }
}

std::string DescribeDifference(NodeNames::Difference d) {
  switch (d) {
    case NodeNames::Difference::kSame:
      return "The train and eval nodes are the same.";
    case NodeNames::Difference::kEvalIsSubsequenceOfTrain:
      return "The nodes obtained by tracing the model in eval mode are a subsequence of those "
             "obtained in train mode.";
    case NodeNames::Difference::kTrainIsSubsequenceOfEval:
      return "The nodes obtained by tracing the model in train mode are a subsequence of those "
             "obtained in eval mode.";
    case NodeNames::Difference::kDifferent:
      return "The nodes obtained by tracing the model in train mode are different to those "
             "obtained in eval mode.";
  }
  return "";
}

absl::StatusOr<NodeNames> GetGraphNodeNames(const torch::jit::Module& model,
                                            const TraceOptions& options) {
  NodeNames names;
  ASSIGN_OR_RETURN(names.train, ListedNames(model, Mode::kTrain, options));
  ASSIGN_OR_RETURN(names.eval, ListedNames(model, Mode::kEval, options));
  if (names.train == names.eval) {
    names.difference = NodeNames::Difference::kSame;
  } else if (IsSubsequence(names.train, names.eval)) {
    names.difference = NodeNames::Difference::kEvalIsSubsequenceOfTrain;
  } else if (IsSubsequence(names.eval, names.train)) {
    names.difference = NodeNames::Difference::kTrainIsSubsequenceOfEval;
  } else {
    names.difference = NodeNames::Difference::kDifferent;
  }
  return names;
}

}  // namespace featx
