// pass.h
//
// The interface every graph transformation implements, after XLA's
// HloPassInterface: a pass has a name and one entry point,
//
//   absl::StatusOr<bool> Run(Graph& graph);   // true if it changed the graph
//
// A pass that learns something the caller needs (what it folded, what it
// cloned, which parameters survive) keeps it in the pass object, behind an
// accessor, rather than in a side channel: the caller owns the pass and reads
// the result after Run. PassPipeline (pass_pipeline.h) runs passes in order.
//
// Example:
//   class DropAssertsPass : public GraphPass {
//    public:
//     absl::string_view name() const override { return "drop-asserts"; }
//     absl::StatusOr<bool> Run(Graph& graph) override;
//   };

#ifndef FEATX_GRAPH_PASS_H_
#define FEATX_GRAPH_PASS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace featx {

class GraphPass {
 public:
  virtual ~GraphPass() = default;

  // A short, unique, kebab-case name ("dead-code"): what `--print_after` takes.
  virtual absl::string_view name() const = 0;

  // Transforms `graph` in place. Returns whether it changed the graph; an
  // error leaves the graph in an unspecified (but destructible) state.
  virtual absl::StatusOr<bool> Run(Graph& graph) = 0;
};

}  // namespace featx

#endif  // FEATX_GRAPH_PASS_H_
