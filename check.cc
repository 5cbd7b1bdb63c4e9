// featx::CheckExtractor (featx.h): an extractor's outputs against the value
// each node had when it was computed, in the unpruned traced graph run by
// LibTorch, and that graph against model.forward.

#include <string>
#include <utility>
#include <vector>

#include "ATen/Functions.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "codegen/torchscript.h"
#include "featx.h"
#include "graph/graph.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "pruning/dead_code.h"
#include "tracer/tracer.h"

namespace featx {

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
          !kv[k + 1].node()->value_type().is_tensor()) {
        return unsupported("a dict that is not a Dict[str, Tensor] computed in forward");
      }
      results.push_back(kv[k + 1]);
      result_keys.push_back(absl::StrCat("forward.", kv[k].string_value()));
    }
  } else if (returned.is_node()) {
    if (!IsReturnableType(returned.node()->value_type())) {
      return unsupported(absl::StrCat("a ", NodeTypeText(*returned.node())));
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
      if (!e.is_node() || !e.node()->value_type().is_tensor()) {
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
    if (!IsReturnableType(v->value_type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", v->name(), "' is a ", NodeTypeText(*v),
                       ", not a Tensor, a Dict[str, Tensor], or a tuple or list of tensors"));
    }
    Argument result = Argument::NodeRef(v);
    if (v->value_type().is_tensor()) {
      int after = graph->IndexOf(v) + 1;
      while (graph->nodes()[after]->op() == OpCode::kPlaceholder) ++after;
      Node* clone = graph->InsertBefore(graph->nodes()[after].get(),
                                        {.target = "aten::clone",
                                         .args = {Argument::NodeRef(v), Argument::None()},
                                         .type = v->value_type(),
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

}  // namespace featx
