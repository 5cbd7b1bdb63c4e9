// dead_code.h
//
// Alias-aware dead-code elimination: the one pass that decides what a featx
// Graph still runs. Pruning runs it to the selected outputs, and both back ends
// (TorchScript and C++) get graphs it has run on, so they never disagree. It
// recurses into `if` and `loop` blocks and into the inlined bodies that leaf
// calls carry for code generation.
//
// A node stays if its value is read by a node that stays, if it has a side
// effect (an assert, a print), or if it writes in place a value that a node
// that stays reads afterwards, directly or through an alias:
//
//   %1 = call_function aten::add.Scalar(%0, 1, 1)
//   %2 = call_function aten::add_.Tensor(%1, %0, 1) mutates=0 alias_of=0   // nobody reads %2
//   %3 = call_function aten::mul.Scalar(%1, 2)     // reads %1 after %2 wrote it: %2 stays
//
// Aliases are may-alias classes: a node shares storage with its alias_of
// argument (views, in-place ops, getitem), an `if` or a leaf call with the
// values its blocks yield, and a loop with its carried values. A read inside a
// loop observes every write in that loop, since a later iteration follows it.
//
// Example:
//   absl::StatusOr<bool> changed = featx::EliminateDeadCode(graph);

#ifndef FEATX_PRUNING_DEAD_CODE_H_
#define FEATX_PRUNING_DEAD_CODE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

struct DeadCodeOptions {
  // When the top-level output node reads its arguments.
  enum class OutputReads {
    // At the end of the program, as TorchScript returns: it sees every write
    // before it. The graph's own semantics.
    kAtEnd,
    // The moment each value is computed, as a feature extractor returns them
    // (with output protection, see pruning.h): a later write is not seen.
    kWhenComputed,
  };
  // Top-level side effects (asserts) after the last value the output reads.
  enum class TrailingEffects {
    kKeep,
    // Dropped: the original program would have returned before running them.
    kDrop,
  };
  OutputReads output_reads = OutputReads::kAtEnd;
  TrailingEffects trailing_effects = TrailingEffects::kKeep;
};

// The dead-code options of a feature extractor: outputs are read when
// computed (protect-outputs keeps them so, see protect_outputs.h), and asserts
// after the last output are not run.
DeadCodeOptions ExtractorDeadCodeOptions();

// Which nodes of a graph (blocks included) must run, and which in-place writes
// they perform. Computed once; the graph must not change while it is in use.
class Liveness {
 public:
  // Precondition: Verify(graph) is ok.
  static std::unique_ptr<Liveness> Analyze(const Graph& graph, const DeadCodeOptions& options);
  virtual ~Liveness() = default;

  virtual bool IsLive(const Node& node) const = 0;
  // Whether a live node after `node` (a top-level node) writes in place a
  // value that may share storage with `node`'s value.
  virtual bool OverwrittenLater(const Node& node) const = 0;
};

// Erases every node, at any depth, that Liveness does not keep. Placeholders
// and output nodes stay. Returns whether the graph changed. FailedPrecondition
// if `graph` does not verify.
absl::StatusOr<bool> EliminateDeadCode(Graph& graph, const DeadCodeOptions& options);
absl::StatusOr<bool> EliminateDeadCode(Graph& graph);

// dead-code: EliminateDeadCode as a pass.
class DeadCodePass : public GraphPass {
 public:
  explicit DeadCodePass(DeadCodeOptions options = {}) : options_(options) {}
  absl::string_view name() const override { return "dead-code"; }
  absl::StatusOr<bool> Run(Graph& graph) override { return EliminateDeadCode(graph, options_); }

 private:
  DeadCodeOptions options_;
};

// OK if EliminateDeadCode(graph) would not change `graph`. The back ends call
// it on the graphs they get, so both emit exactly the nodes this pass keeps.
// FailedPrecondition naming the first dead node otherwise.
absl::Status CheckNoDeadCode(const Graph& graph);

}  // namespace featx

#endif  // FEATX_PRUNING_DEAD_CODE_H_
