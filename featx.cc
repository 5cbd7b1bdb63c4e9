#include "featx.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_join.h"
#include "codegen/cpp.h"
#include "codegen/torchscript.h"
#include "torch/csrc/jit/runtime/operator.h"
#include "torch/csrc/jit/serialization/pickle.h"
#include "ATen/Functions.h"
#include "ATen/core/dispatch/Dispatcher.h"
#include "graph/status_macros.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activations.h"
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
                                        const TraceOptions& options,
                                        std::vector<ReturnNode>* selected_out = nullptr) {
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
  if (selected_out != nullptr) *selected_out = std::move(selected);
  return result;
}

// The tensor at `path` ("layer1.0.conv1.weight") in `model`.
absl::StatusOr<at::Tensor> TensorAt(const torch::jit::Module& model, const std::string& path) {
  c10::IValue v = model._ivalue();
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    std::string name(part);
    if (!v.isObject() || !v.toObjectRef().type()->hasAttribute(name)) {
      return absl::NotFoundError(absl::StrCat("model has no tensor '", path, "'"));
    }
    v = v.toObjectRef().getAttr(name);
  }
  if (!v.isTensor()) return absl::NotFoundError(absl::StrCat("'", path, "' is not a tensor"));
  return v.toTensor();
}

// Schema text and kind of every operator the graph calls, for the emitter.
absl::StatusOr<std::map<std::string, OperatorInfo>> OperatorsOf(const Graph& graph) {
  std::map<std::string, OperatorInfo> ops;
  absl::Status status;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (!status.ok() || !n->IsOperator() || ops.count(n->target())) return;
    if (n->target() == kConv2dRelu) return;  // //passes' own, emitted by the optimized back end
    c10::Symbol symbol = c10::Symbol::fromQualString(std::string(n->OperatorName()));
    for (const auto& op : torch::jit::getAllOperatorsFor(symbol)) {
      if (op->schema().overload_name() != n->OverloadName()) continue;
      std::ostringstream schema;
      schema << op->schema();
      OperatorInfo info{.schema = schema.str()};
      info.aten = c10::Dispatcher::singleton()
                      .findSchema({std::string(n->OperatorName()), std::string(n->OverloadName())})
                      .has_value();
      ops[n->target()] = info;
      return;
    }
    if (n->target() != "prim::TupleIndex") {
      status = absl::NotFoundError(absl::StrCat("no schema for operator ", n->target()));
    }
  });
  if (!status.ok()) return status;
  return ops;
}

// A BatchNorm-folded convolution weight (or bias, `bias`), computed in double
// and stored in the convolution's dtype:
// s = gamma / sqrt(var + eps), W' = W * s, b' = (b - mean) * s + beta.
absl::StatusOr<at::Tensor> FoldedTensor(const torch::jit::Module& model, const FoldedBatchNorm& f,
                                        bool bias) {
  auto get = [&](const std::string& path) -> absl::StatusOr<at::Tensor> {
    ASSIGN_OR_RETURN(at::Tensor t, TensorAt(model, path));
    return t.detach().to(at::kDouble);
  };
  ASSIGN_OR_RETURN(at::Tensor weight, TensorAt(model, f.conv_weight));
  ASSIGN_OR_RETURN(at::Tensor mean, get(f.running_mean));
  ASSIGN_OR_RETURN(at::Tensor var, get(f.running_var));
  at::Tensor scale = var.add(f.eps).sqrt().reciprocal();
  if (!f.bn_weight.empty()) {
    ASSIGN_OR_RETURN(at::Tensor gamma, get(f.bn_weight));
    scale = gamma.div(var.add(f.eps).sqrt());
  }
  if (!bias) {
    at::Tensor w = weight.detach().to(at::kDouble);
    std::vector<int64_t> shape(w.dim(), 1);
    shape[0] = -1;
    return w.mul(scale.reshape(shape)).to(weight.scalar_type()).contiguous();
  }
  at::Tensor b = at::zeros_like(mean);
  if (!f.conv_bias.empty()) {
    ASSIGN_OR_RETURN(b, get(f.conv_bias));
  }
  at::Tensor folded = b.sub(mean).mul(scale);
  if (!f.bn_bias.empty()) {
    ASSIGN_OR_RETURN(at::Tensor beta, get(f.bn_bias));
    folded = folded.add(beta);
  }
  return folded.to(weight.scalar_type()).contiguous();
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The manifest: what each output is, and its shape for `input_shape`.
absl::StatusOr<std::string> Manifest(const torch::jit::Module& model, const CppExtractorSpec& spec,
                                     const std::vector<ReturnNode>& selected) {
  c10::Dict<std::string, at::Tensor> shapes;
  if (!spec.input_shape.empty()) {
    ASSIGN_OR_RETURN(torch::jit::Module extractor,
                     CreateFeatureExtractor(model, {.return_nodes = spec.return_nodes,
                                                    .trace_options = spec.trace_options}));
    extractor.train(spec.mode == Mode::kTrain);
    try {
      c10::IValue out = extractor.forward({at::zeros(spec.input_shape)});
      for (const auto& item : out.toGenericDict()) {
        shapes.insert(item.key().toStringRef(), item.value().toTensor());
      }
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      return absl::InvalidArgumentError(absl::StrCat("running the model on input shape [",
                                                     absl::StrJoin(spec.input_shape, ", "),
                                                     "] failed: ", what.substr(0, what.find('\n'))));
    }
  }
  std::vector<std::string> entries;
  for (const ReturnNode& r : selected) {
    const Node& n = *r.node;
    std::string module = n.op() == OpCode::kCallModule ? n.target() : n.scope();
    std::string entry = absl::StrCat(
        "    {\"key\": ", JsonQuote(r.key), ", \"node\": ", JsonQuote(n.name()),
        ", \"module\": ", JsonQuote(module), ", \"module_type\": ",
        JsonQuote(n.op() == OpCode::kCallModule ? DemangleClassName(n.module_type()) : ""));
    if (shapes.contains(r.key)) {
      at::Tensor t = shapes.at(r.key);
      absl::StrAppend(&entry, ", \"dtype\": ", JsonQuote(std::string(t.dtype().name())),
                      ", \"shape\": [", absl::StrJoin(t.sizes(), ", "), "]");
      if (t.dim() == 4 && spec.input_shape.size() == 4 && t.size(2) > 0) {
        absl::StrAppend(&entry, ", \"channels\": ", t.size(1),
                        ", \"stride\": ", spec.input_shape[2] / t.size(2));
      }
    }
    entries.push_back(entry + "}");
  }
  return absl::StrCat("{\n  \"model\": ", JsonQuote(spec.model_file), ",\n  \"class\": ",
                      JsonQuote(spec.class_name), ",\n  \"namespace\": ",
                      JsonQuote(spec.namespace_name), ",\n  \"mode\": \"",
                      spec.mode == Mode::kTrain ? "train" : "eval", "\",\n  \"input_shape\": [",
                      absl::StrJoin(spec.input_shape, ", "), "],\n  \"outputs\": [\n",
                      absl::StrJoin(entries, ",\n"), "\n  ]\n}\n");
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
  std::vector<ReturnNode> selected;
  ASSIGN_OR_RETURN(PrunedMode pruned,
                   PruneForMode(model, spec.mode, spec.return_nodes, options, &selected));
  CppExtractorInput input{.graph = pruned.graph.get(),
                          .keys = pruned.keys,
                          .class_name = spec.class_name,
                          .namespace_name = spec.namespace_name,
                          .model_file = spec.model_file,
                          .stem = spec.stem.empty() ? SnakeCase(spec.class_name) : spec.stem,
                          .mode = spec.mode == Mode::kTrain ? "train" : "eval"};
  // Before the passes below, which may erase the selected nodes.
  ASSIGN_OR_RETURN(std::string manifest, Manifest(model, spec, selected));
  // Inference code: rewrite the pruned graph (//passes); folded weights are
  // computed below, when the weights file is written.
  std::map<std::string, std::pair<FoldedBatchNorm, bool>> folded;  // target -> fold, is bias
  if (spec.optimize == CppOptimization::kInference && spec.mode == Mode::kEval) {
    input.optimize = true;
    input.channels_last_outputs = spec.channels_last_outputs;
    RETURN_IF_ERROR(InlineTorchNnModules(*pruned.graph).status());
    FoldBatchNormPass fold;
    RETURN_IF_ERROR(fold.Run(*pruned.graph).status());
    for (const FoldedBatchNorm& f : fold.folds()) {
      folded[f.weight] = {f, false};
      folded[f.bias] = {f, true};
    }
    RETURN_IF_ERROR(FuseActivations(*pruned.graph).status());
  }
  ASSIGN_OR_RETURN(input.operators, OperatorsOf(*pruned.graph));
  std::set<std::string> weights;
  ForEachNodeRecursive(*pruned.graph, [&](Node* n) {
    if (n->op() == OpCode::kGetAttr) weights.insert(n->target());
  });
  input.weights.assign(weights.begin(), weights.end());
  ASSIGN_OR_RETURN(CppSource source, EmitCppExtractor(input));

  c10::Dict<std::string, at::Tensor> tensors;
  for (const std::string& w : input.weights) {
    if (auto f = folded.find(w); f != folded.end()) {
      ASSIGN_OR_RETURN(at::Tensor t, FoldedTensor(model, f->second.first, f->second.second));
      tensors.insert(w, t);
      continue;
    }
    ASSIGN_OR_RETURN(at::Tensor t, TensorAt(model, w));
    tensors.insert(w, t.detach().contiguous());
  }
  c10::impl::GenericDict file(c10::StringType::get(), c10::AnyType::get());
  file.insert("format_version", static_cast<int64_t>(kWeightsFormatVersion));
  file.insert("fingerprint", source.fingerprint);
  file.insert("tensors", tensors);

  CppExtractorFiles files;
  files.stem = input.stem;
  files.header = std::move(source.header);
  files.source = std::move(source.source);
  files.weights = torch::jit::pickle_save(file);
  files.manifest = std::move(manifest);
  return files;
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
  ASSIGN_OR_RETURN(torch::jit::Module extractor,
                   BuildTorchScriptExtractor(model, {.graph = train.graph.get(), .keys = train.keys},
                                             {.graph = eval.graph.get(), .keys = eval.keys}));
  if (!spec.optimize_for_inference) return extractor;
  try {
    extractor.eval();
    torch::jit::Module frozen = torch::jit::freeze(extractor);
    return torch::jit::optimize_for_inference(frozen);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InternalError(absl::StrCat("optimize_for_inference failed: ",
                                            what.substr(0, what.find('\n'))));
  }
}

absl::StatusOr<CppExtractorFiles> GenerateCppExtractor(const torch::jit::Module& model,
                                                       const CppExtractorSpec& spec) {
  try {
    return Generate(model, spec);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InternalError(
        absl::StrCat("generating C++ failed: ", what.substr(0, what.find('\n'))));
  }
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

std::string NodeNamesToJson(const NodeNames& names) {
  auto list = [](const std::vector<std::string>& items) {
    std::vector<std::string> quoted;
    for (const std::string& s : items) quoted.push_back(JsonQuote(s));
    return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
  };
  return absl::StrCat("{\"train\": ", list(names.train), ", \"eval\": ", list(names.eval), "}");
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
