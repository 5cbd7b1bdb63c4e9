#include "passes/fuse_activations.h"

#include <utility>

#include "base/status_macros.h"

namespace featx {

namespace {

std::optional<std::vector<int64_t>> IntPair(const Argument& a) {
  if (a.kind() != Argument::Kind::kList || a.elements().size() != 2) return std::nullopt;
  std::vector<int64_t> out;
  for (const Argument& e : a.elements()) {
    if (e.kind() != Argument::Kind::kInt) return std::nullopt;
    out.push_back(e.int_value());
  }
  return out;
}

bool IsRelu(const Node& n) {
  return n.op() == OpCode::kCallFunction &&
         (n.target() == "aten::relu" || n.target() == "aten::relu_") && n.args().size() == 1 &&
         n.args()[0].is_node();
}

bool IsShapeRead(const Node& user, const Node& value) {
  if (user.target() != "aten::dim" && user.target() != "aten::size") return false;
  return user.args().size() == 1 && user.args()[0].is_node() && user.args()[0].node() == &value;
}

// Replaces `first` and the ReLU `relu` after it by one node made from `init`,
// placed where `first` was.
absl::Status Replace(Node* first, Node* relu, NodeInit init) {
  Graph& g = *first->owner();
  Node* fused = g.InsertBefore(first, std::move(init));
  fused->set_name(first->name());
  g.ReplaceAllUsesWith(first, fused);  // the ReLU, and shape reads
  g.ReplaceAllUsesWith(relu, fused);
  RETURN_IF_ERROR(g.Erase(relu));
  return g.Erase(first);
}

}  // namespace

std::optional<Conv2dCall> MatchConv2d(const Node& node) {
  if (node.op() != OpCode::kCallFunction ||
      (node.target() != "aten::conv2d" && node.target() != kConv2dRelu) ||
      node.args().size() != 7) {
    return std::nullopt;
  }
  const std::vector<Argument>& a = node.args();
  Conv2dCall call;
  call.relu = node.target() == kConv2dRelu;
  if (!a[0].is_node() || !a[0].node()->value_type().is_tensor()) return std::nullopt;
  call.input = a[0].node();
  if (!a[1].is_node() || a[1].node()->op() != OpCode::kGetAttr) return std::nullopt;
  call.weight = a[1].node()->target();
  if (a[2].is_node() && a[2].node()->op() == OpCode::kGetAttr) {
    call.bias = a[2].node()->target();
  } else if (a[2].kind() != Argument::Kind::kNone) {
    return std::nullopt;
  }
  std::optional<std::vector<int64_t>> stride = IntPair(a[3]), padding = IntPair(a[4]),
                                      dilation = IntPair(a[5]);
  if (!stride || !padding || !dilation || a[6].kind() != Argument::Kind::kInt) return std::nullopt;
  call.stride = *stride;
  call.padding = *padding;
  call.dilation = *dilation;
  call.groups = a[6].int_value();
  return call;
}

absl::StatusOr<bool> FuseActivations(Graph& graph) {
  std::vector<Node*> relus;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (IsRelu(*n)) relus.push_back(n);
  });
  bool changed = false;
  for (Node* relu : relus) {
    Node* first = relu->args()[0].node();
    if (first->owner() != relu->owner()) continue;
    bool in_place_relu = relu->target() == "aten::relu_";
    std::optional<Conv2dCall> conv = MatchConv2d(*first);
    if (conv.has_value() && !conv->relu) {
      bool only_relu = true;
      for (const Node* user : first->users()) {
        only_relu = only_relu && (user == relu || IsShapeRead(*user, *first));
      }
      if (!only_relu) continue;
      RETURN_IF_ERROR(Replace(first, relu,
                              {.op = OpCode::kCallFunction,
                               .target = kConv2dRelu,
                               .args = first->args(),
                               .scope = first->scope(),
                               .location = first->location()}));
      changed = true;
      continue;
    }
    bool add = first->target() == "aten::add.Tensor";
    bool add_ = first->target() == "aten::add_.Tensor";
    if (!(add || add_) || first->users().size() != 1 || first->args().size() != 3) continue;
    if (add_) {
      // The sum must not be visible to anything between the add and the ReLU,
      // and an out-of-place ReLU leaves the sum in the added-to tensor.
      Graph& g = *first->owner();
      if (!in_place_relu || g.IndexOf(relu) != g.IndexOf(first) + 1) continue;
    }
    RETURN_IF_ERROR(Replace(first, relu,
                            {.op = OpCode::kCallFunction,
                             .target = add_ ? "aten::_add_relu_.Tensor" : "aten::_add_relu.Tensor",
                             .args = first->args(),
                             .scope = first->scope(),
                             .location = first->location(),
                             .mutates = first->mutates(),
                             .alias_of = first->alias_of()}));
    changed = true;
  }
  return changed;
}

}  // namespace featx
