#include "featx.h"

#include <dlfcn.h>

#include <algorithm>
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
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "codegen/cpp.h"
#include "codegen/torchscript.h"
#include "codegen/weights_writer.h"
#include "graph/text.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activations.h"
#include "passes/pipeline.h"
#include "pruning/dead_code.h"
#include "torch/csrc/jit/runtime/operator.h"
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

// Types a return node may have. A dict's or tuple's tensors are returned
// under "key.subkey" / "key.0" (both back ends flatten them).
bool IsReturnableType(const std::string& type) {
  if (type == "Tensor" || type == "Dict[str, Tensor]" || type == "List[Tensor]" ||
      type == "Tensor[]") {
    return true;
  }
  absl::string_view inner;
  if (absl::StartsWith(type, "Tuple[") && absl::EndsWith(type, "]")) {
    inner = absl::string_view(type).substr(6, type.size() - 7);
  } else if (absl::StartsWith(type, "(") && absl::EndsWith(type, ")")) {
    inner = absl::string_view(type).substr(1, type.size() - 2);
  } else {
    return false;
  }
  for (absl::string_view part : absl::StrSplit(inner, ", ")) {
    if (part != "Tensor") return false;
  }
  return true;
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
    if (!IsReturnableType(r.node->type())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node '", r.node->name(), "' (for '", r.query, "') is a ", r.node->type(),
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
      info.dispatcher =
          c10::Dispatcher::singleton()
              .findSchema({std::string(n->OperatorName()), std::string(n->OverloadName())})
              .has_value();
      // Only ATen's own operators have at::_ops entry points; others in the
      // dispatcher (torchvision::nms) are called boxed.
      info.aten = info.dispatcher && absl::StartsWith(n->OperatorName(), "aten::");
      ops[n->target()] = info;
      return;
    }
    // Structural operators the back ends build themselves.
    if (n->target() != "prim::TupleIndex" && n->target() != "prim::DictConstruct") {
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
  std::map<std::string, std::pair<FoldedBatchNorm, bool>> folded;  // target -> fold, is bias
  if (pruned.pipeline.fold_batchnorm != nullptr) {
    input.optimize = true;
    input.channels_last_outputs = spec.channels_last_outputs;
    for (const FoldedBatchNorm& f : pruned.pipeline.fold_batchnorm->folds()) {
      folded[f.weight] = {f, false};
      folded[f.bias] = {f, true};
    }
  }
  ASSIGN_OR_RETURN(input.operators, OperatorsOf(*pruned.graph));
  // collect-parameters runs last: every get_attr target, folded ones included.
  input.weights = pruned.pipeline.collect_parameters->parameters();
  ASSIGN_OR_RETURN(CppSource source, EmitCppExtractor(input));

  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const std::string& w : input.weights) {
    if (auto f = folded.find(w); f != folded.end()) {
      ASSIGN_OR_RETURN(at::Tensor t, FoldedTensor(model, f->second.first, f->second.second));
      tensors.emplace_back(w, t);
      continue;
    }
    ASSIGN_OR_RETURN(at::Tensor t, TensorAt(model, w));
    tensors.emplace_back(w, t);
  }

  CppExtractorFiles files;
  files.stem = input.stem;
  files.header = std::move(source.header);
  files.source = std::move(source.source);
  ASSIGN_OR_RETURN(files.weights, WriteWeightsFile(source.fingerprint, tensors));
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
  if (!std::ifstream(path).good()) {
    return absl::NotFoundError(absl::StrCat("cannot open model file '", path, "'"));
  }
  try {
    return torch::jit::load(path);
  } catch (const std::exception& e) {
    std::string cause = DescribeLibTorchError(e);
    if (absl::StartsWith(cause, "Unknown builtin op: ")) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load '", path, "': ", cause,
                       " (load the library that defines it first: --load_library=PATH, or "
                       "featx::LoadOperatorLibrary)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a readable TorchScript file: ", cause));
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

namespace {

std::string ShapeText(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

ValueCheck Compare(const std::string& key, const at::Tensor& got, const at::Tensor& want) {
  ValueCheck c{.key = key};
  if (!got.defined() || !want.defined()) {
    c.problem = "missing value";
    return c;
  }
  if (got.sizes() != want.sizes()) {
    c.problem = absl::StrCat("shape ", ShapeText(got), " vs ", ShapeText(want));
    return c;
  }
  if (got.scalar_type() != want.scalar_type()) {
    c.problem = absl::StrCat("dtype ", std::string(got.dtype().name()), " vs ",
                             std::string(want.dtype().name()));
    return c;
  }
  if (got.numel() == 0) {
    c.ok = true;
    return c;
  }
  at::Tensor g = got.detach().to(at::kDouble), w = want.detach().to(at::kDouble);
  at::Tensor diff = g.sub(w).abs();
  bool both_nan = at::equal(g.isnan(), w.isnan());
  at::Tensor finite = diff.masked_fill(diff.isnan(), 0);
  c.max_abs_diff = finite.max().item().toDouble();
  at::Tensor big = w.abs().gt(kCheckTolerance);
  if (big.any().item().toBool()) {
    c.max_rel_diff =
        finite.masked_select(big).div(w.abs().masked_select(big)).max().item().toDouble();
  }
  c.ok = both_nan && at::allclose(g, w, kCheckTolerance, kCheckTolerance, /*equal_nan=*/true);
  if (!both_nan) c.problem = "NaN in different places";
  return c;
}

std::vector<c10::IValue> Cloned(const std::vector<c10::IValue>& inputs) {
  std::vector<c10::IValue> copy;
  for (const c10::IValue& v : inputs) copy.push_back(v.isTensor() ? v.toTensor().clone() : v);
  return copy;
}

absl::StatusOr<c10::IValue> Forward(torch::jit::Module& m, const std::vector<c10::IValue>& inputs,
                                    absl::string_view what) {
  try {
    return m.forward(Cloned(inputs));
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    return absl::InvalidArgumentError(absl::StrCat("running ", what, " failed: ", msg));
  } catch (const std::exception& e) {  // torch::jit::JITException from the interpreter
    return absl::InvalidArgumentError(absl::StrCat("running ", what, " failed: ", e.what()));
  }
}

c10::Dict<std::string, at::Tensor> ToTensorDict(const c10::IValue& v) {
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& kv : v.toGenericDict()) d.insert(kv.key().toStringRef(), kv.value().toTensor());
  return d;
}

// `v` as (key, tensor) pairs, flattened as the TorchScript back end flattens
// returned values: a Tensor under `prefix`, a Dict[str, Tensor]'s entries
// under "prefix.key", a tuple's or list's under "prefix.0", "prefix.1", ...
absl::Status FlattenValue(const std::string& prefix, const c10::IValue& v,
                          std::vector<std::pair<std::string, at::Tensor>>* out) {
  auto not_returnable = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("the model returns a ", v.tagKind(), " (as '", prefix,
                     "'), not a Tensor, a Dict[str, Tensor], or a tuple or list of tensors"));
  };
  if (v.isTensor()) {
    out->emplace_back(prefix, v.toTensor());
  } else if (v.isGenericDict()) {
    for (const auto& kv : v.toGenericDict()) {
      if (!kv.key().isString() || !kv.value().isTensor()) return not_returnable();
      out->emplace_back(absl::StrCat(prefix, ".", kv.key().toStringRef()), kv.value().toTensor());
    }
  } else if (v.isTuple() || v.isList()) {
    std::vector<c10::IValue> items =
        v.isTuple() ? v.toTupleRef().elements().vec() : v.toListRef().vec();
    for (size_t i = 0; i < items.size(); ++i) {
      // None (googlenet's and inception_v3's aux logits in eval mode under
      // TorchScript) has nothing to compare; the reference skips it too.
      if (items[i].isNone()) continue;
      if (!items[i].isTensor()) return not_returnable();
      out->emplace_back(absl::StrCat(prefix, ".", i), items[i].toTensor());
    }
  } else {
    return not_returnable();
  }
  return absl::OkStatus();
}

// The unpruned eval graph with a clone right after each selected tensor node;
// it returns the model's own result under "forward" and the selected nodes
// under "#0", "#1", ... (index into `keys`), built by the TorchScript back end,
// which flattens values that are not tensors ("forward.out", "#0.1").
// Selected dicts, tuples and lists are returned as they are, not cloned: a
// later in-place write to one of their tensors shows as a mismatch.
absl::StatusOr<torch::jit::Module> ReferenceModule(const torch::jit::Module& model,
                                                   const ExtractorSpec& spec,
                                                   std::vector<std::string>* keys) {
  ASSIGN_OR_RETURN(auto per_mode,
                   ReturnNodesPerMode({.return_nodes = spec.return_nodes,
                                       .train_return_nodes = spec.train_return_nodes,
                                       .eval_return_nodes = spec.eval_return_nodes}));
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, Trace(model, Mode::kEval, spec.trace_options));
  NameNodes(*graph);
  ASSIGN_OR_RETURN(std::vector<ReturnNode> selected, SelectOutputs(*graph, per_mode.second));
  Node* output = graph->output();
  std::vector<Argument> results;
  std::vector<std::string> result_keys;
  auto unsupported = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("featx check compares with model.forward, which must return a Tensor, a "
                     "Dict[str, Tensor], or a tuple or list of tensors; it returns ",
                     what));
  };
  if (output->args().size() != 1) return unsupported("several values");
  const Argument& returned = output->args()[0];
  if (returned.is_node() && returned.node()->target() == "prim::DictConstruct") {
    // A dict built in forward (the tracer's node, which the TorchScript back
    // end does not rebuild): its entries, as "forward.key".
    const std::vector<Argument>& kv = returned.node()->args();
    for (size_t k = 0; k + 1 < kv.size(); k += 2) {
      if (kv[k].kind() != Argument::Kind::kString || !kv[k + 1].is_node() ||
          kv[k + 1].node()->type() != "Tensor") {
        return unsupported("a dict that is not a Dict[str, Tensor] computed in forward");
      }
      results.push_back(kv[k + 1]);
      result_keys.push_back(absl::StrCat("forward.", kv[k].string_value()));
    }
  } else if (returned.is_node()) {
    if (!IsReturnableType(returned.node()->type())) {
      return unsupported(absl::StrCat("a ", returned.node()->type()));
    }
    results.push_back(returned);
    result_keys.push_back("forward");
  } else if (returned.kind() == Argument::Kind::kTuple ||
             returned.kind() == Argument::Kind::kList) {
    // A tuple or list built in forward: its elements, as "forward.0", ...;
    // None elements are skipped.
    for (size_t k = 0; k < returned.elements().size(); ++k) {
      const Argument& e = returned.elements()[k];
      if (e.kind() == Argument::Kind::kNone) continue;  // nothing to compare; see FlattenValue
      if (!e.is_node() || e.node()->type() != "Tensor") {
        return unsupported(absl::StrCat("a tuple or list whose element ", k,
                                        " is not a Tensor computed in forward"));
      }
      results.push_back(e);
      result_keys.push_back(absl::StrCat("forward.", k));
    }
  } else {
    return unsupported("a constant");
  }
  for (size_t i = 0; i < selected.size(); ++i) {
    Node* v = selected[i].node;
    if (!IsReturnableType(v->type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", v->name(), "' is a ", v->type(),
                       ", not a Tensor, a Dict[str, Tensor], or a tuple or list of tensors"));
    }
    Argument result = Argument::NodeRef(v);
    if (v->type() == "Tensor") {
      int after = graph->IndexOf(v) + 1;
      while (graph->nodes()[after]->op() == OpCode::kPlaceholder) ++after;
      Node* clone = graph->InsertBefore(graph->nodes()[after].get(),
                                        {.target = "aten::clone",
                                         .args = {Argument::NodeRef(v), Argument::None()},
                                         .type = v->type(),
                                         .scope = v->scope()});
      result = Argument::NodeRef(clone);
    }
    results.push_back(result);
    result_keys.push_back(absl::StrCat("#", i));
    keys->push_back(selected[i].key);
  }
  graph->SetArgs(output, std::move(results));
  RETURN_IF_ERROR(EliminateDeadCode(*graph).status());
  ModeGraph mode{.graph = graph.get(), .keys = result_keys};
  return BuildTorchScriptExtractor(model, mode, mode);
}

// One ValueCheck standing for `parts`: ok if all are, the largest
// differences, the first problem (prefixed with its key).
ValueCheck Summary(const std::vector<ValueCheck>& parts) {
  ValueCheck s{.key = "forward", .ok = true};
  if (parts.empty()) {
    s.ok = false;
    s.problem = "the model returns no tensor";
  }
  for (const ValueCheck& p : parts) {
    s.max_abs_diff = std::max(s.max_abs_diff, p.max_abs_diff);
    s.max_rel_diff = std::max(s.max_rel_diff, p.max_rel_diff);
    s.ok = s.ok && p.ok;
    if (s.problem.empty() && !p.ok) {
      s.problem = p.key == "forward"
                      ? p.problem
                      : absl::StrCat(p.key, ": ", p.problem.empty() ? "values" : p.problem);
    }
  }
  if (parts.size() == 1 && parts[0].key == "forward") return parts[0];
  return s;
}

// Puts a module in eval mode for its lifetime, then gives every submodule its
// own training flag back. (Module::train(bool) sets one flag on all of them,
// which would put a model's eval-mode submodules into train mode.)
class EvalModeScope {
 public:
  explicit EvalModeScope(const torch::jit::Module& m) {
    for (const torch::jit::Module& sub : m.modules()) flags_.emplace_back(sub, sub.is_training());
    torch::jit::Module(m).eval();
  }
  EvalModeScope(const EvalModeScope&) = delete;
  EvalModeScope& operator=(const EvalModeScope&) = delete;
  ~EvalModeScope() {
    for (auto& [sub, training] : flags_) {
      if (sub.type()->hasAttribute("training")) sub._ivalue()->setAttr("training", training);
    }
  }

 private:
  std::vector<std::pair<torch::jit::Module, bool>> flags_;
};

absl::StatusOr<CheckReport> Check(const torch::jit::Module& model, const ExtractorSpec& spec,
                                  torch::jit::Module extractor,
                                  const std::vector<c10::IValue>& inputs) {
  std::vector<std::string> keys;
  ASSIGN_OR_RETURN(torch::jit::Module reference, ReferenceModule(model, spec, &keys));
  torch::jit::Module original = model;  // a handle on the same module
  absl::StatusOr<c10::IValue> want;
  {
    EvalModeScope eval_mode(original);
    want = Forward(original, inputs, "the model");
  }
  if (!want.ok()) return want.status();
  std::vector<std::pair<std::string, at::Tensor>> want_parts;
  RETURN_IF_ERROR(FlattenValue("forward", *want, &want_parts));
  reference.eval();
  ASSIGN_OR_RETURN(c10::IValue ref_out, Forward(reference, inputs, "the traced graph"));
  c10::Dict<std::string, at::Tensor> ref = ToTensorDict(ref_out);
  absl::StatusOr<c10::IValue> got_out;
  {
    EvalModeScope eval_mode(extractor);
    got_out = Forward(extractor, inputs, "the extractor");
  }
  if (!got_out.ok()) return got_out.status();
  if (!got_out->isGenericDict()) {
    return absl::InvalidArgumentError("the extractor does not return Dict[str, Tensor]");
  }
  c10::Dict<std::string, at::Tensor> got = ToTensorDict(*got_out);

  CheckReport report;
  // The model's own parts, in its order; a part the traced graph lacks (or
  // has in addition) is a mismatch.
  std::set<std::string> want_keys;
  for (const auto& [key, value] : want_parts) {
    want_keys.insert(key);
    at::Tensor traced = ref.contains(key) ? ref.at(key) : at::Tensor();
    report.forward_parts.push_back(Compare(key, traced, value));
  }
  for (const auto& kv : ref) {
    const std::string& key = kv.key();
    if ((key == "forward" || absl::StartsWith(key, "forward.")) && !want_keys.count(key)) {
      report.forward_parts.push_back(Compare(key, kv.value(), at::Tensor()));
    }
  }
  report.forward = Summary(report.forward_parts);
  // The selected nodes, in the reference's order ("#i" then "#i.sub"),
  // under the extractor's keys (keys[i], keys[i] + ".sub").
  for (const auto& kv : ref) {
    const std::string& key = kv.key();
    if (!absl::StartsWith(key, "#")) continue;
    size_t dot = key.find('.');
    size_t i = std::stoul(key.substr(1, dot == std::string::npos ? std::string::npos : dot - 1));
    std::string extractor_key =
        dot == std::string::npos ? keys[i] : absl::StrCat(keys[i], key.substr(dot));
    at::Tensor value = got.contains(extractor_key) ? got.at(extractor_key) : at::Tensor();
    report.outputs.push_back(Compare(extractor_key, value, kv.value()));
  }
  return report;
}

}  // namespace

bool CheckReport::ok() const {
  if (!forward.ok) return false;
  for (const ValueCheck& c : outputs) {
    if (!c.ok) return false;
  }
  return true;
}

absl::StatusOr<CheckReport> CheckExtractor(const torch::jit::Module& model,
                                           const ExtractorSpec& spec,
                                           const torch::jit::Module& extractor,
                                           const std::vector<c10::IValue>& inputs) {
  try {
    return Check(model, spec, extractor, inputs);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InternalError(absl::StrCat("checking failed: ", what.substr(0, what.find('\n'))));
  }
}

absl::StatusOr<CheckReport> CheckExtractor(const torch::jit::Module& model,
                                           const ExtractorSpec& spec,
                                           const std::vector<c10::IValue>& inputs) {
  ASSIGN_OR_RETURN(torch::jit::Module extractor, CreateFeatureExtractor(model, spec));
  return CheckExtractor(model, spec, extractor, inputs);
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
