// `if` and loops. A constant condition keeps only the live branch; a loop
// with a constant trip count and condition is unrolled, as FX runs the
// Python loop. Anything that depends on the input stays a structured `if`
// or `loop` node whose blocks are traced into nested graphs.

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "base/status_macros.h"
#include "tracer/from_c10.h"
#include "tracer/fx_source.h"
#include "tracer/walker.h"

namespace featx {
namespace tracer_internal {

namespace {

// Unrolling stops here; a bigger constant loop stays a `loop` node.
constexpr int64_t kMaxUnrolledIterations = 4096;

}  // namespace

absl::Status Tracer::If(const jit::Node* node, Env& env, const std::string& scope) {
  const Value& cond = env.at(node->input());
  if (cond.is_constant()) {
    const jit::Block* live = node->blocks()[cond.constant.toBool() ? 0 : 1];
    ASSIGN_OR_RETURN(std::vector<Value> outputs, WalkBlock(*live, env, scope));
    return BindCallOutputs(node, std::move(outputs), env);
  }
  ASSIGN_OR_RETURN(Argument c, ToArg(cond));
  Node* n = graph_->Append({.op = OpCode::kIf,
                            .args = {std::move(c)},
                            .type = OutputsType(node),
                            .multiple_results = node->outputs().size() > 1,
                            .scope = scope,
                            .location = Location(node)});
  for (const jit::Block* block : node->blocks()) {
    RETURN_IF_ERROR(TraceBlock(*block, graph_->AddBlock(n), env, scope));
  }
  BindOutputs(node, n, env, scope);
  return absl::OkStatus();
}

// Traces a TorchScript block into `target`, a nested graph: its inputs become
// placeholders, its outputs the output node.
absl::Status Tracer::TraceBlock(const jit::Block& block, Graph* target, Env& env,
                                const std::string& scope) {
  Graph* saved = graph_;
  graph_ = target;
  for (size_t i = 0; i < block.inputs().size(); ++i) {
    const jit::Value* in = block.inputs()[i];
    Node* p = graph_->Append(
        {.op = OpCode::kPlaceholder,
         .target = in->hasDebugName() ? in->debugNameBase() : absl::StrCat("block_input_", i),
         .type = TypeFromC10(in->type()),
         .scope = scope});
    env[in] = Value::OfNode(p);
  }
  bool raised_before = raised_;
  absl::StatusOr<std::vector<Value>> outputs = WalkBlock(block, env, scope);
  raised_ = raised_before;  // the raise depends on the branch or loop taken
  absl::Status status = AppendOutput(outputs);
  graph_ = saved;
  return status;
}

// prim::Loop(trip_count, initial_condition, carried...); body inputs are
// (iteration, carried...), body outputs (condition, carried...).
absl::Status Tracer::Loop(const jit::Node* node, Env& env, const std::string& scope) {
  std::vector<Value> inputs;
  for (const jit::Value* in : node->inputs()) inputs.push_back(env.at(in));
  if (inputs[0].is_constant() && inputs[1].is_constant() &&
      inputs[0].constant.toInt() <= kMaxUnrolledIterations) {
    ASSIGN_OR_RETURN(bool unrolled, UnrollLoop(node, inputs, env, scope));
    if (unrolled) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope));
  Node* n = graph_->Append({.op = OpCode::kLoop,
                            .args = std::move(args),
                            .type = OutputsType(node),
                            .multiple_results = node->outputs().size() > 1,
                            .scope = scope,
                            .location = Location(node)});
  RETURN_IF_ERROR(TraceBlock(*node->blocks()[0], graph_->AddBlock(n), env, scope));
  BindOutputs(node, n, env, scope);
  return absl::OkStatus();
}

// Unrolls a loop with a constant trip count and initial condition. Returns
// false, with the graph and the tracer's state as before, if the condition
// stops being constant.
absl::StatusOr<bool> Tracer::UnrollLoop(const jit::Node* node, const std::vector<Value>& inputs,
                                        Env& env, const std::string& scope) {
  const jit::Block& body = *node->blocks()[0];
  Env trial = env;
  auto assigned_before = assigned_;
  auto read_before = read_;
  size_t size_before = graph_->size();
  std::vector<Value> carried(inputs.begin() + 2, inputs.end());
  bool go = inputs[1].constant.toBool();
  for (int64_t i = 0; go && i < inputs[0].constant.toInt(); ++i) {
    trial[body.inputs()[0]] = Value::Constant(i);
    for (size_t k = 0; k < carried.size(); ++k) trial[body.inputs()[k + 1]] = carried[k];
    ASSIGN_OR_RETURN(std::vector<Value> out, WalkBlock(body, trial, scope));
    if (raised_) {
      carried.assign(out.begin() + 1, out.end());
      break;
    }
    if (!out[0].is_constant()) {
      assigned_ = std::move(assigned_before);
      read_ = std::move(read_before);
      RETURN_IF_ERROR(ForgetNodesFrom(size_before));
      return false;
    }
    go = out[0].constant.toBool();
    carried.assign(out.begin() + 1, out.end());
  }
  env = std::move(trial);
  RETURN_IF_ERROR(BindCallOutputs(node, std::move(carried), env));
  return true;
}

// Undoes a partial unrolling: erases the nodes of graph_ from `size_before`
// on, forgetting get_attr nodes it made, including those in blocks of the
// nodes that go.
absl::Status Tracer::ForgetNodesFrom(size_t size_before) {
  Graph* g = graph_;
  absl::flat_hash_set<const Node*> gone;
  for (size_t k = size_before; k < g->size(); ++k) {
    gone.insert(g->nodes()[k].get());
    for (const auto& block : g->nodes()[k]->blocks()) {
      ForEachNodeRecursive(*block, [&gone](Node* inner) { gone.insert(inner); });
    }
  }
  for (auto it = attrs_.begin(); it != attrs_.end();) {
    auto here = it++;
    if (gone.contains(here->second)) attrs_.erase(here);
  }
  // Last first, so that each node has no users left when it goes.
  while (g->size() > size_before) RETURN_IF_ERROR(g->Erase(g->nodes().back().get()));
  return absl::OkStatus();
}

}  // namespace tracer_internal
}  // namespace featx
