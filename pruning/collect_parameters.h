// collect_parameters.h
//
// collect-parameters: reads which parameters and buffers (get_attr targets)
// and which leaf modules (call_module targets) a graph still uses, at any
// depth. It never changes the graph; it is a pass so that it runs at its place
// in a pipeline (after the passes that erase or add get_attr nodes) and its
// result is what the back end gets.
//
// Example:
//   %1 = get_attr stem.weight
//   %2 = call_module layer1.0.conv1(%0)
// gives parameters() == {"stem.weight"}, modules() == {"layer1.0.conv1"}.

#ifndef FEATX_PRUNING_COLLECT_PARAMETERS_H_
#define FEATX_PRUNING_COLLECT_PARAMETERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/pass.h"

namespace featx {

class CollectParametersPass : public GraphPass {
 public:
  absl::string_view name() const override { return "collect-parameters"; }
  // Always returns false.
  absl::StatusOr<bool> Run(Graph& graph) override;

  // get_attr targets (parameters and buffers read directly), sorted, unique.
  const std::vector<std::string>& parameters() const { return parameters_; }
  // call_module targets, sorted, unique.
  const std::vector<std::string>& modules() const { return modules_; }

 private:
  std::vector<std::string> parameters_;
  std::vector<std::string> modules_;
};

}  // namespace featx

#endif  // FEATX_PRUNING_COLLECT_PARAMETERS_H_
