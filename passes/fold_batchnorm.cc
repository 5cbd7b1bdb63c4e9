#include "passes/fold_batchnorm.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"

namespace featx {

namespace {

// "__torch__.torch.nn.modules.conv.___torch_mangle_0.Conv2d" -> true for "Conv2d".
bool IsTorchNnClass(const std::string& qualified, absl::string_view short_name) {
  return absl::StrContains(qualified, "torch.nn.modules.") &&
         absl::EndsWith(qualified, absl::StrCat(".", short_name));
}

bool IsInlinedModule(const Node& n) {
  if (n.op() != OpCode::kCallModule || n.blocks().size() != 1) return false;
  for (absl::string_view cls : {"Conv2d", "BatchNorm2d", "ReLU"}) {
    if (IsTorchNnClass(n.module_type(), cls)) return true;
  }
  return false;
}

// Copies `src` (and its blocks) into `dst` before `before` (or at the end when
// null), mapping arguments through `copies`.
Node* CopyNode(Graph& dst, const Node* before, const Node& src,
               absl::flat_hash_map<const Node*, Node*>& copies) {
  std::vector<Argument> args;
  for (const Argument& a : src.args()) {
    args.push_back(a.MapNodes([&](Node* n) {
      auto it = copies.find(n);
      return it == copies.end() ? n : it->second;
    }));
  }
  NodeInit init{.op = src.op(),
                .target = src.target(),
                .args = std::move(args),
                .type = src.value_type(),
                .multiple_results = src.multiple_results(),
                .schema = src.shared_schema(),
                .scope = src.scope(),
                .module_type = src.module_type(),
                .location = src.location(),
                .mutates = src.mutates(),
                .alias_of = src.alias_of()};
  Node* copy = before != nullptr ? dst.InsertBefore(before, std::move(init))
                                 : dst.Append(std::move(init));
  copy->set_name(src.name());
  copies[&src] = copy;
  for (const auto& block : src.blocks()) {
    Graph* b = dst.AddBlock(copy);
    for (const auto& inner : block->nodes()) CopyNode(*b, nullptr, *inner, copies);
  }
  return copy;
}

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

absl::StatusOr<bool> InlineTorchNnModules(Graph& graph) {
  std::vector<Node*> modules;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (IsInlinedModule(*n)) modules.push_back(n);
  });
  bool changed = false;
  for (Node* m : modules) {
    const Graph& body = *m->blocks()[0];
    // Bodies read the caller's values directly; one with inputs of its own, or
    // a result that is not a node, stays a call.
    const Node* out = body.output();
    if (!body.Placeholders().empty() || out == nullptr || out->args().size() != 1 ||
        !out->args()[0].is_node()) {
      continue;
    }
    bool nested = false;
    ForEachNodeRecursive(body, [&](Node* inner) { nested = nested || IsInlinedModule(*inner); });
    if (nested) continue;
    absl::flat_hash_map<const Node*, Node*> copies;
    for (const auto& inner : body.nodes()) {
      if (inner->op() == OpCode::kOutput) continue;
      CopyNode(*m->owner(), m, *inner, copies);
    }
    Node* result = out->args()[0].node();
    if (auto it = copies.find(result); it != copies.end()) result = it->second;
    m->owner()->ReplaceAllUsesWith(m, result);
    RETURN_IF_ERROR(m->owner()->Erase(m));
    changed = true;
  }
  return changed;
}

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
    if (mean == nullptr || var == nullptr || (gamma == nullptr && a[1].kind() != Argument::Kind::kNone) ||
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
