#include "passes/fold_batchnorm.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace featx {

namespace {

bool IsShapeRead(const Node& user, const Node& value) {
  if (user.target() != "aten::dim" && user.target() != "aten::size") return false;
  return user.args().size() == 1 && user.args()[0].is_node() && user.args()[0].node() == &value;
}

const Node* GetAttrArg(const Argument& a) {
  if (!a.is_node() || a.node()->op() != OpCode::kGetAttr) return nullptr;
  return a.node();
}

// Erases get_attr nodes nobody reads any more.
void EraseIfUnused(const Node* n) {
  if (n != nullptr && n->users().empty()) {
    absl::Status s = n->owner()->Erase(const_cast<Node*>(n));
    (void)s;  // cannot fail: no users
  }
}

}  // namespace

absl::StatusOr<bool> FoldBatchNormPass::Run(Graph& graph) {
  std::vector<Node*> norms;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (n->op() == OpCode::kCallFunction && n->target() == "aten::batch_norm") norms.push_back(n);
  });
  bool changed = false;
  for (Node* bn : norms) {
    // batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
    const std::vector<Argument>& a = bn->args();
    if (a.size() != 9 || !a[0].is_node() || a[5].kind() != Argument::Kind::kBool ||
        a[5].bool_value()) {
      continue;
    }
    double eps;
    if (a[7].kind() == Argument::Kind::kDouble) {
      eps = a[7].double_value();
    } else if (a[7].kind() == Argument::Kind::kInt) {
      eps = static_cast<double>(a[7].int_value());
    } else {
      continue;
    }
    const Node* gamma = GetAttrArg(a[1]);
    const Node* beta = GetAttrArg(a[2]);
    const Node* mean = GetAttrArg(a[3]);
    const Node* var = GetAttrArg(a[4]);
    if (mean == nullptr || var == nullptr ||
        (gamma == nullptr && a[1].kind() != Argument::Kind::kNone) ||
        (beta == nullptr && a[2].kind() != Argument::Kind::kNone)) {
      continue;
    }
    Node* conv = a[0].node();
    if (conv->op() != OpCode::kCallFunction || conv->target() != "aten::conv2d" ||
        conv->owner() != bn->owner() || conv->args().size() != 7) {
      continue;
    }
    const Node* weight = GetAttrArg(conv->args()[1]);
    const Node* bias = GetAttrArg(conv->args()[2]);
    if (weight == nullptr || (bias == nullptr && conv->args()[2].kind() != Argument::Kind::kNone)) {
      continue;
    }
    bool only_bn = true;
    for (const Node* user : conv->users()) {
      only_bn = only_bn && (user == bn || IsShapeRead(*user, *conv));
    }
    if (!only_bn) continue;

    std::string bn_path(absl::StripSuffix(var->target(), ".running_var"));
    FoldedBatchNorm fold{.weight = absl::StrCat(weight->target(), "@", bn_path),
                         .bias = absl::StrCat(weight->target(), "@", bn_path, ".bias"),
                         .conv_weight = weight->target(),
                         .conv_bias = bias != nullptr ? bias->target() : "",
                         .bn_weight = gamma != nullptr ? gamma->target() : "",
                         .bn_bias = beta != nullptr ? beta->target() : "",
                         .running_mean = mean->target(),
                         .running_var = var->target(),
                         .eps = eps};
    Graph& g = *conv->owner();
    Node* new_weight = g.InsertBefore(conv, {.op = OpCode::kGetAttr,
                                             .target = fold.weight,
                                             .scope = conv->scope(),
                                             .module_type = "parameter"});
    Node* new_bias = g.InsertBefore(conv, {.op = OpCode::kGetAttr,
                                           .target = fold.bias,
                                           .scope = conv->scope(),
                                           .module_type = "parameter"});
    new_weight->set_name(absl::StrCat(conv->name(), "_folded_weight"));
    new_bias->set_name(absl::StrCat(conv->name(), "_folded_bias"));
    std::vector<Argument> args = conv->args();
    args[1] = Argument::NodeRef(new_weight);
    args[2] = Argument::NodeRef(new_bias);
    g.SetArgs(conv, std::move(args));
    g.ReplaceAllUsesWith(bn, conv);
    RETURN_IF_ERROR(g.Erase(bn));
    absl::flat_hash_set<const Node*> old = {weight, bias, gamma, beta, mean, var};
    for (const Node* n : {weight, bias, gamma, beta, mean, var}) {
      if (old.erase(n) > 0) EraseIfUnused(n);  // each node once
    }
    // Another batch_norm on the same pair of parameters gets the same targets.
    bool seen = false;
    for (const FoldedBatchNorm& f : folds_) seen = seen || f.weight == fold.weight;
    if (!seen) folds_.push_back(std::move(fold));
    changed = true;
  }
  return changed;
}

}  // namespace featx
