#include "pruning/protect_outputs.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "pruning/dead_code.h"

namespace featx {

namespace {

// A name for the clone of `v` that no node has yet ("layer1.0.bn1_clone").
std::string CloneName(const Graph& graph, const Node& v, absl::flat_hash_set<std::string>& taken) {
  if (v.name().empty()) return "";
  if (taken.empty()) {
    ForEachNodeRecursive(graph, [&](Node* n) { taken.insert(n->name()); });
  }
  std::string name = absl::StrCat(v.name(), "_clone");
  for (int i = 1; taken.contains(name); ++i) name = absl::StrCat(v.name(), "_clone_", i);
  taken.insert(name);
  return name;
}

}  // namespace

absl::StatusOr<bool> ProtectOutputs(Graph& graph, std::vector<std::string>* copied) {
  std::vector<Node*> to_clone;
  {
    std::unique_ptr<Liveness> liveness = Liveness::Analyze(graph, ExtractorDeadCodeOptions());
    for (const Argument& a : graph.output()->args()) {
      if (!a.is_node() || a.node()->owner() != &graph) continue;
      Node* v = a.node();
      if (std::find(to_clone.begin(), to_clone.end(), v) == to_clone.end() &&
          liveness->OverwrittenLater(*v)) {
        to_clone.push_back(v);
      }
    }
  }
  if (to_clone.empty()) return false;
  absl::flat_hash_set<std::string> taken_names;
  std::vector<Argument> results = graph.output()->args();
  for (Node* v : to_clone) {
    // Right after v; placeholders must stay first.
    int after = graph.IndexOf(v) + 1;
    while (graph.nodes()[after]->op() == OpCode::kPlaceholder) ++after;
    Node* clone = graph.InsertBefore(graph.nodes()[after].get(),
                                     {.op = OpCode::kCallFunction,
                                      .target = "aten::clone",
                                      .args = {Argument::NodeRef(v), Argument::None()},
                                      .type = v->type(),
                                      .scope = v->scope()});
    clone->set_name(CloneName(graph, *v, taken_names));
    for (Argument& a : results) {
      if (a.is_node() && a.node() == v) a = Argument::NodeRef(clone);
    }
    if (copied != nullptr) copied->push_back(v->name());
  }
  graph.SetArgs(graph.output(), std::move(results));
  return true;
}

}  // namespace featx
