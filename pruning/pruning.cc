#include "pruning/pruning.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace featx {

namespace {

std::string Describe(const Node& n) {
  return absl::StrCat(OpCodeName(n.op()), " '", n.name().empty() ? n.target() : n.name(), "'");
}

// Values that may share storage, as union-find classes over every node of the
// graph, blocks included, joined along alias_of (an in-place op or a view and
// the argument it aliases).
class AliasClasses {
 public:
  explicit AliasClasses(const Graph& graph) {
    ForEachNodeRecursive(graph, [this](Node* n) {
      id_.emplace(n, static_cast<int>(parent_.size()));
      parent_.push_back(static_cast<int>(parent_.size()));
    });
    ForEachNodeRecursive(graph, [this](Node* n) {
      if (n->alias_of() < 0 || n->alias_of() >= static_cast<int>(n->args().size())) return;
      n->args()[n->alias_of()].ForEachNode([&](Node* a) { parent_[Of(a)] = Of(n); });
    });
  }

  int size() const { return static_cast<int>(parent_.size()); }

  int Of(const Node* n) {
    int x = id_.at(n);
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }

 private:
  absl::flat_hash_map<const Node*, int> id_;
  std::vector<int> parent_;
};

// Calls `fn` for every top-level value that top-level `node` reads: its
// arguments, and the outer values that nodes in its blocks read.
void ForEachTopLevelRead(const Graph& graph, const Node& node,
                         const std::function<void(Node*)>& fn) {
  auto visit = [&](const Node& n) {
    for (const Argument& a : n.args()) {
      a.ForEachNode([&](Node* used) {
        if (used->owner() == &graph) fn(used);
      });
    }
  };
  visit(node);
  for (const auto& block : node.blocks()) {
    ForEachNodeRecursive(*block, [&](Node* n) { visit(*n); });
  }
}

// Calls `fn` for every value that `node`, or a node in its blocks, writes in place.
void ForEachWrite(const Node& node, const std::function<void(Node*)>& fn) {
  auto visit = [&](const Node& n) {
    for (int k : n.mutates()) {
      if (k < static_cast<int>(n.args().size())) n.args()[k].ForEachNode(fn);
    }
  };
  visit(node);
  for (const auto& block : node.blocks()) {
    ForEachNodeRecursive(*block, [&](Node* n) { visit(*n); });
  }
}

// Which top-level nodes the outputs need, torch.fx DCE style (a worklist from
// the output node back through arguments), plus two kinds of nodes nobody
// reads:
//
// Side effects. An assert (an `if` whose block raises) that the original
// program ran before its last output is kept, with what it reads; one after it
// is dropped.
//
// In-place writes. A kept node that reads an alias class after an in-place
// write to that class observes the write, so the writer is kept too:
//
//   %1 = call_function aten::relu(%0)
//   %2 = call_function aten::add_.Tensor(%1, %0, 1) mutates=0 alias_of=0
//   %3 = call_function aten::neg(%1)      // reads {%1, %2} after %2: keep %2
//
// Keeping %2 makes it a reader of {%1, %2} too, which keeps earlier writers of
// the class, and so on; each class's writers are visited once, in order. The
// output node is no observer: an output is the value as its node computed it
// (PruneToOutputs clones it if a kept writer would overwrite it).
class Liveness {
 public:
  Liveness(const Graph& graph, AliasClasses& aliases)
      : graph_(graph),
        aliases_(aliases),
        live_(graph.size()),
        writers_(aliases.size()),
        observed_writers_(aliases.size()),
        last_reader_(aliases.size(), -1) {
    for (size_t i = 0; i < graph.size(); ++i) {
      ForEachWrite(*graph.nodes()[i], [&](Node* written) {
        std::vector<int>& writers = writers_[aliases_.Of(written)];
        if (writers.empty() || writers.back() != static_cast<int>(i)) {
          writers.push_back(static_cast<int>(i));
        }
      });
    }
  }

  // `last_output`: index of the last output, or -1.
  void Run(int last_output) {
    for (size_t i = 0; i < graph_.size(); ++i) {
      const Node& n = *graph_.nodes()[i];
      if (n.op() == OpCode::kPlaceholder || n.op() == OpCode::kOutput ||
          (static_cast<int>(i) < last_output && n.HasSideEffects())) {
        MarkLive(static_cast<int>(i));
      }
    }
    while (!worklist_.empty()) {
      int i = worklist_.back();
      worklist_.pop_back();
      const Node& n = *graph_.nodes()[i];
      ForEachTopLevelRead(graph_, n, [&](Node* used) {
        MarkLive(graph_.IndexOf(used));
        if (n.op() != OpCode::kOutput) Observe(aliases_.Of(used), i);
      });
    }
  }

  bool live(int i) const { return live_[i]; }

  // Whether a kept node after `node` writes `node`'s alias class in place.
  bool OverwrittenLater(const Node& node) {
    int cls = aliases_.Of(&node);
    int index = graph_.IndexOf(&node);
    const std::vector<int>& writers = writers_[cls];  // in graph order
    for (int k = static_cast<int>(writers.size()) - 1; k >= 0 && writers[k] > index; --k) {
      if (live_[writers[k]]) return true;
    }
    return false;
  }

 private:
  void MarkLive(int i) {
    if (live_[i]) return;
    live_[i] = true;
    worklist_.push_back(i);
  }

  // Top-level node `reader` reads alias class `cls`: keep every writer of the class before it.
  void Observe(int cls, int reader) {
    if (reader <= last_reader_[cls]) return;
    last_reader_[cls] = reader;
    const std::vector<int>& writers = writers_[cls];
    int& next = observed_writers_[cls];
    while (next < static_cast<int>(writers.size()) && writers[next] < reader) {
      MarkLive(writers[next++]);
    }
  }

  const Graph& graph_;
  AliasClasses& aliases_;
  std::vector<bool> live_;
  std::vector<int> worklist_;
  std::vector<std::vector<int>> writers_;  // per class: top-level writers, in graph order
  std::vector<int> observed_writers_;      // per class: writers_ before last_reader_, all live
  std::vector<int> last_reader_;           // per class: the latest observing reader so far
};

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

absl::StatusOr<PruneResult> PruneToOutputs(Graph& graph, const std::vector<Node*>& outputs) {
  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prune an invalid graph: ", s.message()));
  }
  if (absl::Status s = CheckOutputs(graph, outputs); !s.ok()) return s;

  std::vector<Argument> results;
  int last_output = -1;
  for (Node* v : outputs) {
    results.push_back(Argument::NodeRef(v));
    last_output = std::max(last_output, graph.IndexOf(v));
  }
  graph.SetArgs(graph.output(), results);

  AliasClasses aliases(graph);
  Liveness liveness(graph, aliases);
  liveness.Run(last_output);

  // An output that a kept in-place op overwrites later is returned through a
  // clone (decided now, while indices are the original order):
  //   %2 = call_module layer1.0.bn1(%1)
  //   %3 = call_function aten::clone(%2, None)    // new; output(%3, ...)
  //   %4 = call_module layer1.0.relu(%2) mutates=0 alias_of=0
  std::vector<Node*> to_clone;
  for (Node* v : outputs) {
    if (std::find(to_clone.begin(), to_clone.end(), v) == to_clone.end() &&
        liveness.OverwrittenLater(*v)) {
      to_clone.push_back(v);
    }
  }

  graph.EraseIf([&](const Node& n) { return !liveness.live(graph.IndexOf(&n)); });

  PruneResult result;
  absl::flat_hash_map<Node*, Node*> clone_of;
  absl::flat_hash_set<std::string> taken_names;
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
    clone_of[v] = clone;
    result.copied.push_back(v->name());
  }
  if (!clone_of.empty()) {
    for (Argument& a : results) {
      auto it = clone_of.find(a.node());
      if (it != clone_of.end()) a = Argument::NodeRef(it->second);
    }
    graph.SetArgs(graph.output(), std::move(results));
  }

  ForEachNodeRecursive(graph, [&](Node* n) {
    if (n->op() == OpCode::kGetAttr) result.parameters.push_back(n->target());
    if (n->op() == OpCode::kCallModule) result.modules.push_back(n->target());
  });
  result.parameters = SortedUnique(std::move(result.parameters));
  result.modules = SortedUnique(std::move(result.modules));

  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::InternalError(absl::StrCat("pruning left an invalid graph: ", s.message()));
  }
  return result;
}

}  // namespace featx
