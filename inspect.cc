// The parts of the API that show a model rather than transform it:
// FeatureInfo, DescribeNodes, GraphText and DrawGraph (declared in featx.h).

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ATen/CPUGeneratorImpl.h"
#include "ATen/Functions.h"
#include "ATen/core/grad_mode.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "codegen/torchscript.h"
#include "featx.h"
#include "graph/text.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "pruning/dead_code.h"
#include "pruning/pruning.h"
#include "viz/dot.h"

namespace featx {
namespace {

absl::StatusOr<std::unique_ptr<Graph>> NamedTrace(const torch::jit::Module& model, Mode mode,
                                                  const TraceOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, Trace(model, mode, options));
  NameNodes(*graph);
  return graph;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// Runs `m` in `mode` on randn(input_shape) drawn from a generator seeded
// with 0 (the values torch.manual_seed(0); torch.randn(shape) gives, without
// touching the global generator) and returns its Dict[str, Tensor].
absl::StatusOr<c10::Dict<std::string, at::Tensor>> RunOnce(
    torch::jit::Module m, Mode mode, const std::vector<int64_t>& input_shape) {
  at::Tensor input = at::randn(input_shape, at::detail::createCPUGenerator(0));
  c10::IValue out;
  try {
    at::NoGradGuard no_grad;
    m.train(mode == Mode::kTrain);
    out = m.forward({input});
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("running the model on input shape ",
                                                   ShapeText(input_shape),
                                                   " failed: ", DescribeLibTorchError(e)));
  }
  c10::Dict<std::string, at::Tensor> values;
  for (const auto& kv : out.toGenericDict()) {
    values.insert(kv.key().toStringRef(), kv.value().toTensor());
  }
  return values;
}

// dtype, shape, and for a 4-d value of a 4-d input channels and stride.
template <typename Description>
void SetShape(const at::Tensor& t, const std::vector<int64_t>& input_shape, Description* d) {
  d->dtype = std::string(t.dtype().name());
  d->shape = t.sizes().vec();
  if (t.dim() == 4 && input_shape.size() == 4 && t.size(2) > 0) {
    d->channels = t.size(1);
    d->stride = input_shape[2] / t.size(2);
  }
}

// A leaf module's path, else the node's scope.
std::string ModulePath(const Node& n) {
  return n.op() == OpCode::kCallModule ? n.target() : n.scope();
}

std::string ShortClass(const std::string& qualified) {
  std::string demangled = DemangleClassName(qualified);
  size_t dot = demangled.rfind('.');
  return dot == std::string::npos ? demangled : demangled.substr(dot + 1);
}

// The operator a node computes, as NodeQuery::op spells it: "relu" for
// aten::relu_, torch.nn.functional.relu and a ReLU module.
std::string OperatorKey(const Node& n) {
  std::string key;
  switch (n.op()) {
    case OpCode::kCallModule:
      key = ShortClass(n.module_type());
      break;
    case OpCode::kCallFunction: {
      absl::string_view name = n.OperatorName();
      size_t sep = name.rfind("::");
      if (sep != absl::string_view::npos) {
        name = name.substr(sep + 2);
      } else if (size_t dot = name.rfind('.'); dot != absl::string_view::npos) {
        name = name.substr(dot + 1);
      }
      key = std::string(name);
      break;
    }
    default:
      key = std::string(OpCodeName(n.op()));
  }
  absl::AsciiStrToLower(&key);
  while (key.size() > 1 && key.back() == '_') key.pop_back();
  return key;
}

// Every listed Tensor node of `rows` computed once by the unpruned traced
// graph (TorchScript back end); returns its value per row index.
absl::Status PropagateShapes(const torch::jit::Module& model, Graph& graph, Mode mode,
                             const std::vector<Node*>& nodes,
                             const std::vector<int64_t>& input_shape,
                             std::vector<NodeDescription>* rows) {
  std::vector<Argument> results;
  std::vector<std::string> keys;
  std::vector<size_t> row_of_key;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->type() != "Tensor") continue;
    results.push_back(Argument::NodeRef(nodes[i]));
    keys.push_back(absl::StrCat("#", i));
    row_of_key.push_back(i);
  }
  if (results.empty()) return absl::OkStatus();
  graph.SetArgs(graph.output(), std::move(results));
  RETURN_IF_ERROR(EliminateDeadCode(graph).status());
  ModeGraph g{.graph = &graph, .keys = keys};
  absl::StatusOr<torch::jit::Module> runner = BuildTorchScriptExtractor(model, g, g);
  if (!runner.ok()) {
    return absl::Status(runner.status().code(),
                        absl::StrCat("shapes need the whole graph rebuilt, which failed: ",
                                     RephraseInternalAssert(runner.status().message())));
  }
  ASSIGN_OR_RETURN(auto values, RunOnce(*runner, mode, input_shape));
  for (size_t k = 0; k < keys.size(); ++k) {
    if (values.contains(keys[k]))
      SetShape(values.at(keys[k]), input_shape, &(*rows)[row_of_key[k]]);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<FeatureDescription>> FeatureInfo(const torch::jit::Module& model,
                                                            const ExtractorSpec& spec,
                                                            const std::vector<int64_t>& input_shape,
                                                            Mode mode) {
  ASSIGN_OR_RETURN(auto per_mode,
                   ReturnNodesPerMode({.return_nodes = spec.return_nodes,
                                       .train_return_nodes = spec.train_return_nodes,
                                       .eval_return_nodes = spec.eval_return_nodes}));
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, NamedTrace(model, mode, spec.trace_options));
  ASSIGN_OR_RETURN(std::vector<ReturnNode> selected,
                   SelectOutputs(*graph, mode == Mode::kTrain ? per_mode.first : per_mode.second));
  c10::Dict<std::string, at::Tensor> values;
  if (!input_shape.empty()) {
    ExtractorSpec plain = spec;
    plain.optimize_for_inference = false;
    ASSIGN_OR_RETURN(torch::jit::Module extractor, CreateFeatureExtractor(model, plain));
    ASSIGN_OR_RETURN(values, RunOnce(extractor, mode, input_shape));
  }
  std::vector<FeatureDescription> result;
  for (const ReturnNode& r : selected) {
    const Node& n = *r.node;
    FeatureDescription base{
        .key = r.key,
        .node = n.name(),
        .module = ModulePath(n),
        .module_type = n.op() == OpCode::kCallModule ? DemangleClassName(n.module_type()) : ""};
    if (values.contains(r.key)) {
      SetShape(values.at(r.key), input_shape, &base);
      result.push_back(std::move(base));
      continue;
    }
    // A dict, tuple or list: the extractor's flattened keys, in its order.
    bool any = false;
    for (const auto& kv : values) {
      if (!absl::StartsWith(kv.key(), absl::StrCat(r.key, "."))) continue;
      FeatureDescription part = base;
      part.key = kv.key();
      SetShape(kv.value(), input_shape, &part);
      result.push_back(std::move(part));
      any = true;
    }
    if (!any) result.push_back(std::move(base));
  }
  return result;
}

absl::StatusOr<std::vector<NodeDescription>> DescribeNodes(const torch::jit::Module& model,
                                                           const NodeQuery& query) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph,
                   NamedTrace(model, query.mode, query.trace_options));
  std::string op = absl::AsciiStrToLower(query.op);
  while (op.size() > 1 && op.back() == '_') op.pop_back();
  std::vector<NodeDescription> rows;
  std::vector<Node*> nodes;
  for (const auto& node : graph->nodes()) {
    const Node& n = *node;
    if (!IsListedByTorchvision(n)) continue;
    if (!query.filter.empty() && !GlobMatch(query.filter, n.name())) continue;
    if (!op.empty() && OperatorKey(n) != op) continue;
    std::string target = n.target();
    if (n.op() == OpCode::kCallModule) target = ShortClass(n.module_type());
    rows.push_back({.name = n.name(),
                    .opcode = std::string(OpCodeName(n.op())),
                    .target = std::move(target),
                    .module = ModulePath(n),
                    .type = n.type()});
    nodes.push_back(node.get());
  }
  if (!query.input_shape.empty()) {
    try {
      RETURN_IF_ERROR(PropagateShapes(model, *graph, query.mode, nodes, query.input_shape, &rows));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape propagation failed: ", DescribeLibTorchError(e)));
    }
  }
  return rows;
}

bool MatchesGlob(absl::string_view pattern, absl::string_view name) {
  return GlobMatch(pattern, name);
}

absl::StatusOr<std::string> GraphText(const torch::jit::Module& model, Mode mode,
                                      const TraceOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, NamedTrace(model, mode, options));
  return PrintGraph(*graph);
}

absl::StatusOr<std::string> DrawGraph(const torch::jit::Module& model, const DrawSpec& spec) {
  TraceOptions options = spec.trace_options;
  options.with_bodies = false;
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, NamedTrace(model, spec.mode, options));
  DotOptions dot{.depth = spec.depth, .title = spec.title};
  if (!spec.return_nodes.empty()) {
    // What the extractor keeps: the same graph, pruned as CreateFeatureExtractor prunes it.
    ASSIGN_OR_RETURN(std::unique_ptr<Graph> pruned, NamedTrace(model, spec.mode, options));
    ASSIGN_OR_RETURN(std::vector<ReturnNode> selected, SelectOutputs(*pruned, spec.return_nodes));
    std::vector<Node*> outputs;
    for (const ReturnNode& r : selected) {
      dot.output_keys[r.node->name()].push_back(r.key);
      outputs.push_back(r.node);
    }
    RETURN_IF_ERROR(PruneToOutputs(*pruned, outputs).status());
    std::set<std::string> kept;
    for (const auto& node : pruned->nodes()) {
      if (!node->name().empty()) kept.insert(node->name());
    }
    dot.kept = std::move(kept);
  }
  return GraphToDot(*graph, dot);
}

}  // namespace featx
