#include "passes/inline_torch_nn.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

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
                .type = src.type(),
                .scope = src.scope(),
                .module_type = src.module_type(),
                .location = src.location(),
                .mutates = src.mutates(),
                .alias_of = src.alias_of()};
  Node* copy =
      before != nullptr ? dst.InsertBefore(before, std::move(init)) : dst.Append(std::move(init));
  copy->set_name(src.name());
  copies[&src] = copy;
  for (const auto& block : src.blocks()) {
    Graph* b = dst.AddBlock(copy);
    for (const auto& inner : block->nodes()) CopyNode(*b, nullptr, *inner, copies);
  }
  return copy;
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

}  // namespace featx
