#include "pruning/dead_code.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace featx {

namespace {

class LivenessImpl : public Liveness {
 public:
  LivenessImpl(const Graph& graph, const DeadCodeOptions& options)
      : graph_(graph), options_(options) {
    Number(graph, /*loop=*/nullptr);
    parent_.resize(nodes_.size());
    for (size_t i = 0; i < parent_.size(); ++i) parent_[i] = static_cast<int>(i);
    for (const Node* n : nodes_) JoinAliases(*n);
    writers_.resize(nodes_.size());
    next_writer_.assign(nodes_.size(), 0);
    for (const Node* n : nodes_) {
      for (int k : n->mutates()) {
        if (k >= static_cast<int>(n->args().size())) continue;
        n->args()[k].ForEachNode([&](Node* written) {
          std::vector<const Node*>& w = writers_[Class(written)];
          if (w.empty() || w.back() != n) w.push_back(n);  // in pre-order: sorted by position
        });
      }
    }
    live_.assign(nodes_.size(), false);
    Run();
  }

  bool IsLive(const Node& node) const override {
    auto it = pos_.find(&node);
    return it != pos_.end() && live_[it->second];
  }

  bool OverwrittenLater(const Node& node) const override {
    auto it = pos_.find(&node);
    if (it == pos_.end()) return false;
    int position = it->second;
    for (const Node* w : writers_[Class(&node)]) {
      if (pos_.at(w) > position && live_[pos_.at(w)]) return true;
    }
    return false;
  }

 private:
  // Numbers every node in execution order (a node before its blocks), and
  // records for each the end of the outermost loop around it.
  void Number(const Graph& g, const Node* loop) {
    for (const auto& node : g.nodes()) {
      const Node* n = node.get();
      pos_[n] = static_cast<int>(nodes_.size());
      nodes_.push_back(n);
      outer_loop_.push_back(loop);
      const Node* inner_loop = loop != nullptr ? loop : (n->op() == OpCode::kLoop ? n : nullptr);
      for (const auto& block : n->blocks()) Number(*block, inner_loop);
      end_[n] = static_cast<int>(nodes_.size()) - 1;
    }
  }

  int Class(const Node* n) const {
    int x = pos_.at(n);
    while (parent_[x] != x) x = parent_[x];
    return x;
  }

  void Join(const Node* a, const Node* b) {
    int x = Class(a), y = Class(b);
    if (x != y) parent_[std::max(x, y)] = std::min(x, y);
  }

  void JoinAliases(const Node& n) {
    if (n.alias_of() >= 0 && n.alias_of() < static_cast<int>(n.args().size())) {
      n.args()[n.alias_of()].ForEachNode([&](Node* a) { Join(&n, a); });
    }
    // An if, a loop or a leaf call with its body yields values its blocks
    // produce, which may be (views of) outer values; a loop's carried values
    // flow from its inputs through the body's inputs and outputs.
    for (const auto& block : n.blocks()) {
      if (block->output() != nullptr) {
        for (const Argument& a : block->output()->args()) {
          a.ForEachNode([&](Node* v) { Join(&n, v); });
        }
      }
    }
    if (n.op() == OpCode::kLoop) {
      for (size_t k = 2; k < n.args().size(); ++k) {
        n.args()[k].ForEachNode([&](Node* v) { Join(&n, v); });
      }
      std::vector<Node*> inputs = n.blocks()[0]->Placeholders();
      for (size_t k = 1; k < inputs.size(); ++k) Join(&n, inputs[k]);
    }
  }

  void Mark(const Node* n) {
    int i = pos_.at(n);
    if (live_[i]) return;
    live_[i] = true;
    worklist_.push_back(i);
  }

  // The latest position whose writes a read at `n` sees.
  int Horizon(const Node* n) const {
    int i = pos_.at(n);
    const Node* loop = outer_loop_[i];
    return loop == nullptr ? i - 1 : std::max(i - 1, end_.at(loop));
  }

  // A live node reads class `cls` at `horizon`: every earlier writer must run.
  void Observe(int cls, int horizon) {
    const std::vector<const Node*>& writers = writers_[cls];
    int& next = next_writer_[cls];
    while (next < static_cast<int>(writers.size()) && pos_.at(writers[next]) <= horizon) {
      Mark(writers[next++]);
    }
  }

  void Run() {
    const Node* output = graph_.output();
    int last_output = -1;
    if (output != nullptr) {
      for (const Argument& a : output->args()) {
        a.ForEachNode([&](Node* v) {
          if (v->owner() == &graph_) last_output = std::max(last_output, graph_.IndexOf(v));
        });
      }
    }
    for (const Node* n : nodes_) {
      if (n->owner() == &graph_ &&
          (n->op() == OpCode::kPlaceholder || n->op() == OpCode::kOutput)) {
        Mark(n);
        continue;
      }
      if (n->op() != OpCode::kCallFunction || !n->HasSideEffects()) continue;
      if (options_.trailing_effects == DeadCodeOptions::TrailingEffects::kDrop) {
        const Node* top = n;
        while (top->owner() != &graph_) top = top->owner()->parent();
        if (graph_.IndexOf(top) >= last_output) continue;
      }
      Mark(n);
    }
    while (!worklist_.empty()) {
      const Node* n = nodes_[worklist_.back()];
      worklist_.pop_back();
      if (n->owner()->parent() != nullptr) Mark(n->owner()->parent());
      for (const auto& block : n->blocks()) {
        for (const auto& inner : block->nodes()) {
          if (inner->op() == OpCode::kPlaceholder || inner->op() == OpCode::kOutput) {
            Mark(inner.get());
          }
        }
      }
      bool observes =
          !(n == output && options_.output_reads == DeadCodeOptions::OutputReads::kWhenComputed);
      int horizon = Horizon(n);
      for (const Argument& a : n->args()) {
        a.ForEachNode([&](Node* used) {
          Mark(used);
          if (observes) Observe(Class(used), horizon);
        });
      }
    }
  }

  const Graph& graph_;
  DeadCodeOptions options_;
  std::vector<const Node*> nodes_;                 // in execution order
  absl::flat_hash_map<const Node*, int> pos_;      // index in nodes_
  absl::flat_hash_map<const Node*, int> end_;      // last index of a node's blocks, or its own
  std::vector<const Node*> outer_loop_;            // per node: outermost enclosing loop, or null
  std::vector<int> parent_;                        // union-find over indices: may-alias classes
  std::vector<std::vector<const Node*>> writers_;  // per class: writers in execution order
  std::vector<int> next_writer_;                   // per class: writers_ before it are live
  std::vector<bool> live_;
  std::vector<int> worklist_;
};

// Blocks first: a dead node in a kept block may read a dead outer value.
int EraseDead(Graph& g, const Liveness& liveness) {
  auto dead = [&](const Node& n) {
    return n.op() != OpCode::kPlaceholder && n.op() != OpCode::kOutput && !liveness.IsLive(n);
  };
  int removed = 0;
  for (const auto& n : g.nodes()) {
    if (dead(*n)) continue;
    for (const auto& block : n->blocks()) removed += EraseDead(*block, liveness);
  }
  return removed + g.EraseIf(dead);
}

}  // namespace

std::unique_ptr<Liveness> Liveness::Analyze(const Graph& graph, const DeadCodeOptions& options) {
  return std::make_unique<LivenessImpl>(graph, options);
}

DeadCodeOptions ExtractorDeadCodeOptions() {
  return {.output_reads = DeadCodeOptions::OutputReads::kWhenComputed,
          .trailing_effects = DeadCodeOptions::TrailingEffects::kDrop};
}

absl::StatusOr<bool> EliminateDeadCode(Graph& graph, const DeadCodeOptions& options) {
  if (absl::Status s = Verify(graph); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dead-code elimination needs a valid graph: ", s.message()));
  }
  std::unique_ptr<Liveness> liveness = Liveness::Analyze(graph, options);
  return EraseDead(graph, *liveness) > 0;
}

absl::StatusOr<bool> EliminateDeadCode(Graph& graph) {
  return EliminateDeadCode(graph, DeadCodeOptions{});
}

absl::Status CheckNoDeadCode(const Graph& graph) {
  if (absl::Status s = Verify(graph); !s.ok()) return s;
  std::unique_ptr<Liveness> liveness = Liveness::Analyze(graph, DeadCodeOptions{});
  const Node* dead = nullptr;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (dead == nullptr && n->op() != OpCode::kPlaceholder && n->op() != OpCode::kOutput &&
        !liveness->IsLive(*n)) {
      dead = n;
    }
  });
  if (dead == nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the graph has dead code (", OpCodeName(dead->op()), " '",
      dead->name().empty() ? dead->target() : dead->name(), "'); run EliminateDeadCode first"));
}

}  // namespace featx
