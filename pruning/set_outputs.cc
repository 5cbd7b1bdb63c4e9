#include "pruning/set_outputs.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

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

}  // namespace

absl::StatusOr<bool> SetOutputs(Graph& graph, const std::vector<Node*>& outputs) {
  RETURN_IF_ERROR(CheckOutputs(graph, outputs));
  std::vector<Argument> results;
  for (Node* v : outputs) results.push_back(Argument::NodeRef(v));
  if (graph.output()->args() == results) return false;
  graph.SetArgs(graph.output(), std::move(results));
  return true;
}

}  // namespace featx
