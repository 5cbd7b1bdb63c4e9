#include "codegen/cpp_backend.h"

#include <optional>

#include "ATen/Functions.h"
#include "ATen/core/dispatch/Dispatcher.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "graph/schema.h"
#include "passes/fuse_activations.h"
#include "torch/csrc/jit/runtime/operator.h"
#include "tracer/from_c10.h"

namespace featx {

namespace {

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

}  // namespace

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

absl::StatusOr<std::map<std::string, OperatorInfo>> OperatorTable(const Graph& graph) {
  std::map<std::string, OperatorInfo> ops;
  absl::Status status;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (!status.ok() || !n->IsOperator() || ops.count(n->target())) return;
    if (n->target() == kConv2dRelu) return;  // //passes' own, emitted by the optimized back end
    std::optional<OperatorSchema> schema;
    if (n->schema() != nullptr) {
      schema = *n->schema();
    } else {
      c10::Symbol symbol = c10::Symbol::fromQualString(std::string(n->OperatorName()));
      for (const auto& op : torch::jit::getAllOperatorsFor(symbol)) {
        if (op->schema().overload_name() != n->OverloadName()) continue;
        absl::StatusOr<OperatorSchema> converted = SchemaFromC10(op->schema());
        if (!converted.ok()) {
          status = converted.status();
          return;
        }
        schema = *std::move(converted);
        break;
      }
    }
    if (!schema.has_value()) {
      // Structural operators the back ends build themselves.
      if (n->target() != "prim::TupleIndex" && n->target() != "prim::DictConstruct") {
        status = absl::NotFoundError(
            absl::StrCat("cannot generate C++ for node '", n->name(), "': operator ", n->target(),
                         " is not registered in this process (load the library that defines it: "
                         "--load_library=PATH, or featx::LoadOperatorLibrary)"));
      }
      return;
    }
    OperatorInfo info{.schema = *std::move(schema)};
    info.dispatcher =
        c10::Dispatcher::singleton()
            .findSchema({std::string(n->OperatorName()), std::string(n->OverloadName())})
            .has_value();
    // Only ATen's own operators have at::_ops entry points; others in the
    // dispatcher (torchvision::nms) are called boxed.
    info.aten = info.dispatcher && absl::StartsWith(n->OperatorName(), "aten::");
    ops[n->target()] = info;
  });
  if (!status.ok()) return status;
  return ops;
}

absl::StatusOr<std::vector<std::pair<std::string, at::Tensor>>> ExtractorWeights(
    const torch::jit::Module& model, const std::vector<std::string>& weights,
    const std::vector<FoldedBatchNorm>& folds) {
  std::map<std::string, std::pair<const FoldedBatchNorm*, bool>> folded;  // target -> fold, is bias
  for (const FoldedBatchNorm& f : folds) {
    folded[f.weight] = {&f, false};
    folded[f.bias] = {&f, true};
  }
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const std::string& w : weights) {
    if (auto f = folded.find(w); f != folded.end()) {
      ASSIGN_OR_RETURN(at::Tensor t, FoldedTensor(model, *f->second.first, f->second.second));
      tensors.emplace_back(w, t);
      continue;
    }
    ASSIGN_OR_RETURN(at::Tensor t, TensorAt(model, w));
    tensors.emplace_back(w, t);
  }
  return tensors;
}

}  // namespace featx
