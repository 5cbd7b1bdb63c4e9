// pass_pipeline.h
//
// An ordered list of passes run one after another, after XLA's
// HloPassPipeline. The pipeline is itself a pass. It can verify the graph
// (graph.h's Verify) before the first pass and after each one, and calls an
// observer after each pass, which is how `featx graph --print_after=PASS`
// shows the graph between passes.
//
// Example:
//   PassPipeline pipeline("pruning");
//   pipeline.AddPass(std::make_unique<SetOutputsPass>(outputs));
//   DeadCodePass& dce = pipeline.AddPass(std::make_unique<DeadCodePass>());
//   pipeline.set_observer([](const GraphPass& pass, const Graph& g, bool changed) {
//     if (pass.name() == "dead-code") std::cout << PrintGraph(g);
//   });
//   absl::StatusOr<bool> changed = pipeline.Run(graph);

#ifndef FEATX_GRAPH_PASS_PIPELINE_H_
#define FEATX_GRAPH_PASS_PIPELINE_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

class PassPipeline : public GraphPass {
 public:
  enum class Verification {
    kNone,
    // Verify before the first pass (FailedPrecondition if the input graph is
    // invalid) and after every pass (Internal naming the pass that broke it).
    kAfterEachPass,
  };
  // Called after each pass that succeeded, with whether it changed the graph.
  using Observer = std::function<void(const GraphPass& pass, const Graph& graph, bool changed)>;

  explicit PassPipeline(std::string name, Verification verification = Verification::kAfterEachPass)
      : name_(std::move(name)), verification_(verification) {}

  absl::string_view name() const override { return name_; }

  // Appends a pass and returns it, so the caller can read its results after
  // Run. The pipeline owns it.
  template <typename T>
  T& AddPass(std::unique_ptr<T> pass) {
    T& ref = *pass;
    passes_.push_back(std::move(pass));
    return ref;
  }

  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // The names of the passes, in the order they run.
  std::vector<std::string> PassNames() const;

  // Runs every pass in order and stops at the first error, which comes back
  // prefixed with the pass's name only if it is a broken invariant (Internal
  // from verification); a pass's own errors come back unchanged. Returns
  // whether any pass changed the graph.
  absl::StatusOr<bool> Run(Graph& graph) override;

 private:
  std::string name_;
  Verification verification_;
  std::vector<std::unique_ptr<GraphPass>> passes_;
  Observer observer_;
};

}  // namespace featx

#endif  // FEATX_GRAPH_PASS_PIPELINE_H_
