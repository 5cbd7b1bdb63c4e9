#include "pruning/collect_parameters.h"

#include <algorithm>
#include <utility>

namespace featx {

namespace {

// Sorted and unique.
std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

absl::StatusOr<bool> CollectParametersPass::Run(Graph& graph) {
  std::vector<std::string> parameters, modules;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (n->op() == OpCode::kGetAttr) parameters.push_back(n->target());
    if (n->op() == OpCode::kCallModule) modules.push_back(n->target());
  });
  parameters_ = SortedUnique(std::move(parameters));
  modules_ = SortedUnique(std::move(modules));
  return false;
}

}  // namespace featx
