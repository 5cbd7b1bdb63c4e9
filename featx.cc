#include "featx.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "ATen/Functions.h"
#include "ATen/core/dispatch/Dispatcher.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "caffe2/serialize/versions.h"
#include "codegen/cpp.h"
#include "codegen/cpp_backend.h"
#include "codegen/torchscript.h"
#include "codegen/weights_writer.h"
#include "graph/text.h"
#include "model_file.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activations.h"
#include "passes/pipeline.h"
#include "pruning/dead_code.h"
#include "pruning/pruning.h"
#include "tensor_bounds.h"
#include "torch/csrc/jit/serialization/import.h"

namespace featx {

namespace {

// No LibTorch internal-assert wording reaches a user (the back ends quote
// LibTorch's messages).
template <typename T>
absl::StatusOr<T> UserFacing(absl::StatusOr<T> result) {
  if (result.ok()) return result;
  return absl::Status(result.status().code(), RephraseInternalAssert(result.status().message()));
}

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
    if (IsListedByTorchvision(*node)) names.push_back(node->name());
  }
  return names;
}

// One mode's extractor graph: traced, named, with its return nodes selected,
// and the pipeline (passes/pipeline.h) that prunes it for a back end.
struct PrunedMode {
  std::unique_ptr<Graph> graph;
  std::vector<std::string> keys;
  // The selected nodes: valid until the pipeline runs (its passes may erase them).
  std::vector<ReturnNode> selected;
  // Run by PruneForMode, not by SelectForMode; holds its passes' results.
  ExtractorPipeline pipeline;
};

absl::StatusOr<PrunedMode> SelectForMode(const torch::jit::Module& model, Mode mode,
                                         const std::vector<std::string>& return_nodes,
                                         const TraceOptions& options, PipelineKind kind) {
  PrunedMode result;
  ASSIGN_OR_RETURN(result.graph, Trace(model, mode, options));
  NameNodes(*result.graph);
  ASSIGN_OR_RETURN(result.selected, SelectOutputs(*result.graph, return_nodes));
  std::vector<Node*> outputs;
  for (const ReturnNode& r : result.selected) {
    if (!IsReturnableType(r.node->value_type())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", r.node->name(), "' (for '", r.query, "') is a ", NodeTypeText(*r.node),
          ", not a Tensor, a Dict[str, Tensor], or a tuple or list of tensors; only tensors "
          "can be returned"));
    }
    outputs.push_back(r.node);
    result.keys.push_back(r.key);
  }
  result.pipeline = MakeExtractorPipeline(kind, std::move(outputs));
  return result;
}

absl::StatusOr<PrunedMode> PruneForMode(const torch::jit::Module& model, Mode mode,
                                        const std::vector<std::string>& return_nodes,
                                        const TraceOptions& options,
                                        PipelineKind kind = PipelineKind::kTorchScript) {
  ASSIGN_OR_RETURN(PrunedMode result, SelectForMode(model, mode, return_nodes, options, kind));
  RETURN_IF_ERROR(result.pipeline.passes->Run(*result.graph).status());
  return result;
}

// The C++ back end's pipeline for `spec`.
PipelineKind CppPipelineKind(Mode mode, CppOptimization optimize) {
  return optimize == CppOptimization::kInference && mode == Mode::kEval
             ? PipelineKind::kCppOptimized
             : PipelineKind::kCppExact;
}

absl::StatusOr<CppExtractorFiles> Generate(const torch::jit::Module& model,
                                           const CppExtractorSpec& spec) {
  if (spec.class_name.empty() || spec.namespace_name.empty()) {
    return absl::InvalidArgumentError("a class name and a namespace are needed");
  }
  Namespace check;
  if (check.Unique(spec.class_name) != spec.class_name || spec.class_name == "Features") {
    return absl::InvalidArgumentError(
        absl::StrCat("class name '", spec.class_name, "' is not a valid C++ identifier"));
  }
  for (absl::string_view part : absl::StrSplit(spec.namespace_name, "::")) {
    Namespace ns_check;
    if (ns_check.Unique(std::string(part)) != part) {
      return absl::InvalidArgumentError(
          absl::StrCat("namespace '", spec.namespace_name, "' is not a valid C++ namespace"));
    }
  }
  TraceOptions options = spec.trace_options;
  options.with_bodies = true;
  ASSIGN_OR_RETURN(PrunedMode pruned, SelectForMode(model, spec.mode, spec.return_nodes, options,
                                                    CppPipelineKind(spec.mode, spec.optimize)));
  CppExtractorInput input{.graph = pruned.graph.get(),
                          .keys = pruned.keys,
                          .class_name = spec.class_name,
                          .namespace_name = spec.namespace_name,
                          .model_file = spec.model_file,
                          .stem = spec.stem.empty() ? SnakeCase(spec.class_name) : spec.stem,
                          .mode = spec.mode == Mode::kTrain ? "train" : "eval"};
  ASSIGN_OR_RETURN(
      std::vector<FeatureDescription> outputs,
      FeatureInfo(model, {.return_nodes = spec.return_nodes, .trace_options = spec.trace_options},
                  spec.input_shape, spec.mode));
  std::string manifest = ManifestJson({.model_file = spec.model_file,
                                       .class_name = spec.class_name,
                                       .namespace_name = spec.namespace_name,
                                       .mode = spec.mode == Mode::kTrain ? "train" : "eval",
                                       .input_shape = spec.input_shape,
                                       .outputs = std::move(outputs)});
  RETURN_IF_ERROR(pruned.pipeline.passes->Run(*pruned.graph).status());
  // Inference code (the kCppOptimized pipeline): the folded weights the
  // fold-batchnorm pass recorded are computed below, when the weights file is
  // written.
  std::vector<FoldedBatchNorm> folds;
  if (pruned.pipeline.fold_batchnorm != nullptr) {
    input.optimize = true;
    input.channels_last_outputs = spec.channels_last_outputs;
    folds = pruned.pipeline.fold_batchnorm->folds();
  }
  ASSIGN_OR_RETURN(input.operators, OperatorTable(*pruned.graph));
  // collect-parameters runs last: every get_attr target, folded ones included.
  input.weights = pruned.pipeline.collect_parameters->parameters();
  ASSIGN_OR_RETURN(CppSource source, EmitCppExtractor(input));

  ASSIGN_OR_RETURN(auto tensors, ExtractorWeights(model, input.weights, folds));

  CppExtractorFiles files;
  files.stem = input.stem;
  files.header = std::move(source.header);
  files.source = std::move(source.source);
  ASSIGN_OR_RETURN(files.weights, WriteWeightsFile(source.fingerprint, tensors));
  files.manifest = std::move(manifest);
  return files;
}

}  // namespace

absl::Status CheckReturnNodesSyntax(absl::string_view comma_separated) {
  return ParseReturnNodes(comma_separated).status();
}

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
  ASSIGN_OR_RETURN(
      torch::jit::Module extractor,
      UserFacing(BuildTorchScriptExtractor(model, {.graph = train.graph.get(), .keys = train.keys},
                                           {.graph = eval.graph.get(), .keys = eval.keys})));
  if (!spec.optimize_for_inference) return extractor;
  try {
    extractor.eval();
    // freeze clones the extractor into the model's compilation unit.
    std::lock_guard<std::mutex> lock(CompilationUnitMutex());
    torch::jit::Module frozen = torch::jit::freeze(extractor);
    return torch::jit::optimize_for_inference(frozen);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InternalError(
        absl::StrCat("optimize_for_inference failed: ", what.substr(0, what.find('\n'))));
  }
}

absl::StatusOr<CppExtractorFiles> GenerateCppExtractor(const torch::jit::Module& model,
                                                       const CppExtractorSpec& spec) {
  try {
    return UserFacing(Generate(model, spec));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("generating C++ failed: ", DescribeLibTorchError(e)));
  }
}

absl::StatusOr<torch::jit::Module> LoadModel(const std::string& path) {
  // The OS's reason first: LibTorch's reader says only "file not found" or
  // "failed finding central directory" for a directory or an empty file.
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !std::ifstream(path).good()) {
    int error = errno;
    std::string message =
        absl::StrCat("cannot open model file '", path, "': ", std::strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file '", path, "' is a directory, not a TorchScript file"));
  }
  if (st.st_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file '", path, "' is empty (0 bytes), not a TorchScript file"));
  }
  // Layouts LibTorch's reader would throw on after opening the zip, leaking
  // its state (model_file.h).
  RETURN_IF_ERROR(CheckTorchScriptZipLayout(path, caffe2::serialize::kMinSupportedFileFormatVersion,
                                            caffe2::serialize::kMaxSupportedFileFormatVersion));
  try {
    torch::jit::Module model = torch::jit::load(path);
    // Shapes are not checked against storages by LibTorch (tensor_bounds.h).
    RETURN_IF_ERROR(CheckTensorBounds(model, path));
    return model;
  } catch (const std::exception& e) {
    std::string cause = DescribeLibTorchError(e);
    if (absl::StartsWith(cause, "Unknown builtin op: ")) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load '", path, "': ", cause,
                       " (load the library that defines it first: --load_library=PATH, or "
                       "featx::LoadOperatorLibrary)"));
    }
    // A failed LibTorch consistency check while reading is about the file's
    // contents, not a value featx passed (RephraseInternalAssert's wording).
    absl::StrReplaceAll({{"on a value featx gave it", "reading this file"}}, &cause);
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a readable TorchScript file: ", cause));
  } catch (...) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a readable TorchScript file"));
  }
}

absl::Status LoadOperatorLibrary(const std::string& path) {
  if (!std::ifstream(path).good()) {
    return absl::NotFoundError(absl::StrCat("cannot open operator library '", path, "'"));
  }
  // RTLD_GLOBAL, as torch.ops.load_library: a library may use another's symbols.
  // The handle is never closed; its operators stay registered for the process.
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* error = dlerror();
    return absl::InvalidArgumentError(absl::StrCat("cannot load operator library '", path,
                                                   "': ", error != nullptr ? error : "unknown"));
  }
  return absl::OkStatus();
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

namespace {

PipelineKind KindOf(const PipelineSpec& spec) {
  return spec.backend == PipelineSpec::Backend::kTorchScript
             ? PipelineKind::kTorchScript
             : CppPipelineKind(spec.mode, spec.optimize);
}

}  // namespace

std::vector<std::string> PipelinePassNames(const PipelineSpec& spec) {
  return ExtractorPassNames(KindOf(spec));
}

absl::StatusOr<std::string> GraphAfterPass(const torch::jit::Module& model,
                                           const PipelineSpec& spec, const std::string& pass) {
  PipelineKind kind = KindOf(spec);
  std::vector<std::string> names = ExtractorPassNames(kind);
  if (std::find(names.begin(), names.end(), pass) == names.end()) {
    return absl::NotFoundError(absl::StrCat("no pass '", pass, "' in the ", PipelineKindName(kind),
                                            " pipeline; its passes: ", absl::StrJoin(names, ", ")));
  }
  if (spec.return_nodes.empty()) {
    return absl::InvalidArgumentError("the passes prune to return nodes; none were given");
  }
  TraceOptions options = spec.trace_options;
  // As GenerateCppExtractor traces.
  if (spec.backend == PipelineSpec::Backend::kCpp) options.with_bodies = true;
  try {
    ASSIGN_OR_RETURN(PrunedMode selected,
                     UserFacing(SelectForMode(model, spec.mode, spec.return_nodes, options, kind)));
    std::optional<std::string> text;
    selected.pipeline.passes->set_observer([&](const GraphPass& p, const Graph& g, bool) {
      if (!text.has_value() && p.name() == pass) text = PrintGraph(g);
    });
    absl::Status status = selected.pipeline.passes->Run(*selected.graph).status();
    if (text.has_value()) return *text;
    if (!status.ok()) return UserFacing(absl::StatusOr<std::string>(status));
    return absl::InternalError(absl::StrCat("pass '", pass, "' did not run"));
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("running the pipeline failed: ", DescribeLibTorchError(e)));
  }
}

}  // namespace featx
