#include "pruning/pruning.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace featx {

namespace {

std::string Describe(const Node& n) {
  return absl::StrCat(OpCodeName(n.op()), " '", n.name().empty() ? n.target() : n.name(), "'");
}

absl::Status CheckOutputs(const Graph& graph, const std::vector<Node*>& outputs) {
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Node* v = outputs[k];
    if (v == nullptr) return absl::InvalidArgumentError(absl::StrCat("output ", k, " is null"));
    if (v->owner() != &graph) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", k, " (", Describe(*v),
                       ") is not a top-level node of the graph; a value inside an if or "
                       "loop cannot be returned"));
    }
    if (v->op() == OpCode::kOutput) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", k, " is the graph's output node, not a value"));
    }
  }
  return absl::OkStatus();
}

// A name for the clone of `v` that no node has yet ("layer1.0.bn1_clone").
std::string CloneName(const Graph& graph, const Node& v,
                      absl::flat_hash_set<std::string>& taken) {
  if (v.name().empty()) return "";
  if (taken.empty()) {
    ForEachNodeRecursive(graph, [&](Node* n) { taken.insert(n->name()); });
  }
  std::string name = absl::StrCat(v.name(), "_clone");
  for (int i = 1; taken.contains(name); ++i) name = absl::StrCat(v.name(), "_clone_", i);
  taken.insert(name);
  return name;
}

// Sorted and unique.
std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

DeadCodeOptions ExtractorDeadCodeOptions() {
  return {.output_reads = DeadCodeOptions::OutputReads::kWhenComputed,
          .trailing_effects = DeadCodeOptions::TrailingEffects::kDrop};
}

absl::StatusOr<bool> SetOutputs(Graph& graph, const std::vector<Node*>& outputs) {
  RETURN_IF_ERROR(CheckOutputs(graph, outputs));
  std::vector<Argument> results;
  for (Node* v : outputs) results.push_back(Argument::NodeRef(v));
  if (graph.output()->args() == results) return false;
  graph.SetArgs(graph.output(), std::move(results));
  return true;
}

// An output that a kept in-place op overwrites later is returned through a
// clone:
//   %2 = call_module layer1.0.bn1(%1)
//   %3 = call_function aten::clone(%2, None)    // new; output(%3, ...)
//   %4 = call_module layer1.0.relu(%2) mutates=0 alias_of=0
// With the clone returned, dead-code elimination reading outputs when they
// are computed or at the end keeps the same nodes.
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
                                      .type = v->value_type(),
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

absl::StatusOr<bool> CollectParameters(Graph& graph, PruneResult* result) {
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (n->op() == OpCode::kGetAttr) result->parameters.push_back(n->target());
    if (n->op() == OpCode::kCallModule) result->modules.push_back(n->target());
  });
  result->parameters = SortedUnique(std::move(result->parameters));
  result->modules = SortedUnique(std::move(result->modules));
  return false;
}

std::vector<Pass> PruningPasses(const std::vector<Node*>& outputs, PruneResult* result) {
  return {
      {"set-outputs", [outputs](Graph& g) { return SetOutputs(g, outputs); }},
      {"protect-outputs", [result](Graph& g) { return ProtectOutputs(g, &result->copied); }},
      {"dead-code", [](Graph& g) { return EliminateDeadCode(g, ExtractorDeadCodeOptions()); }},
      {"collect", [result](Graph& g) { return CollectParameters(g, result); }},
  };
}

absl::StatusOr<PruneResult> PruneToOutputs(Graph& graph, const std::vector<Node*>& outputs) {
  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prune an invalid graph: ", s.message()));
  }
  PruneResult result;
  for (const Pass& pass : PruningPasses(outputs, &result)) {
    RETURN_IF_ERROR(pass.run(graph).status());
  }
  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::InternalError(absl::StrCat("pruning left an invalid graph: ", s.message()));
  }
  return result;
}

}  // namespace featx
