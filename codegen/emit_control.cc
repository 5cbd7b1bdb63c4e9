// Graphs, nodes and control flow (see emitter.h).

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "codegen/emitter.h"

namespace featx {

namespace {

std::string ShortClass(const std::string& qualified) {
  return qualified.substr(qualified.rfind('.') + 1);
}

// Several results as one value.
std::string Pack(const std::vector<std::string>& results) {
  if (results.size() == 1) return results[0];
  return absl::StrCat("std::make_tuple(", absl::StrJoin(results, ", "), ")");
}

// Whether emitting `g` writes any statement (placeholders and weights do not).
bool EmitsStatements(const Graph& g) {
  for (const auto& node : g.nodes()) {
    OpCode op = node->op();
    if (op != OpCode::kPlaceholder && op != OpCode::kGetAttr && op != OpCode::kOutput) return true;
  }
  return false;
}

// For each node of `g`, the tensors whose last use within `g` it is, counting
// uses inside blocks at the position of the node that owns them.
std::vector<std::vector<const Node*>> LastUses(const Graph& g) {
  absl::flat_hash_map<const Node*, int> last_use;
  for (const auto& node : g.nodes()) {
    for (Node* user : node->users()) {
      const Node* at = user;
      while (at != nullptr && at->owner() != &g) at = at->owner()->parent();
      if (at != nullptr) last_use[node.get()] = std::max(last_use[node.get()], g.IndexOf(at));
    }
  }
  std::vector<std::vector<const Node*>> release_after(g.size());
  for (const auto& [node, index] : last_use) {
    if (node->op() != OpCode::kPlaceholder && node->op() != OpCode::kGetAttr &&
        node->type() == "Tensor" && g.nodes()[index]->op() != OpCode::kOutput) {
      release_after[index].push_back(node);
    }
  }
  return release_after;
}

}  // namespace

BodyEmitter::BodyEmitter(const CppExtractorInput& input, Namespace& names,
                         const std::map<std::string, std::string>& weight_members, Printer& printer)
    : input_(input),
      names_(names),
      weight_members_(weight_members),
      p_(printer),
      exprs_([this](const Node* node) { return NodeExpr(node); }) {}

void BodyEmitter::EmitComment(const Node& n, absl::string_view suffix) {
  std::string what = n.op() == OpCode::kCallModule
                         ? absl::StrCat(" (", CommentText(ShortClass(n.module_type())), ")")
                         : "";
  p_.Emit({{"name", CommentText(n.name())}, {"what", what}, {"suffix", suffix}},
          "// $name$$what$$suffix$\n");
}

std::string BodyEmitter::NewVar(const Node& n) {
  std::string var = names_.Unique(n.name().empty() ? "v" : n.name());
  vars_[&n] = var;
  return var;
}

absl::StatusOr<std::string> BodyEmitter::NodeExpr(const Node* node) const {
  auto it = vars_.find(node);
  if (it == vars_.end()) return absl::InternalError("value used before it is emitted");
  return it->second;
}

void BodyEmitter::ReleaseAfter(const std::vector<const Node*>& nodes) {
  // Sorted by name: the release order must not depend on pointer values.
  std::vector<std::string> released;
  for (const Node* r : nodes) released.push_back(vars_.at(r));
  std::sort(released.begin(), released.end());
  for (const std::string& v : released) p_.Emit({{"v", v}}, "$v$.reset();\n");
}

absl::StatusOr<std::vector<std::string>> BodyEmitter::EmitGraph(const Graph& g, int depth) {
  std::vector<std::vector<const Node*>> release_after = LastUses(g);
  // Every node is emitted: dead code, in leaf bodies too, is gone already
  // (EliminateDeadCode, the pass the TorchScript back end's graphs go through).
  for (size_t i = 0; i < g.size(); ++i) {
    const Node& n = *g.nodes()[i];
    if (n.op() == OpCode::kOutput) {
      std::vector<std::string> results;
      for (const Argument& a : n.args()) {
        ASSIGN_OR_RETURN(std::string e, Expr(a, ""));
        results.push_back(e);
      }
      return results;
    }
    absl::Status s = EmitNode(n, depth);
    if (!s.ok()) {
      return absl::UnimplementedError(absl::StrCat(
          "cannot emit C++ for node '", n.name(), "' (",
          n.target().empty() ? std::string(OpCodeName(n.op())) : n.target(), "): ", s.message()));
    }
    ReleaseAfter(release_after[i]);
  }
  return absl::InternalError("graph has no output node");
}

absl::Status BodyEmitter::EmitNode(const Node& n, int depth) {
  switch (n.op()) {
    case OpCode::kPlaceholder: {
      if (vars_.contains(&n)) return absl::OkStatus();  // a loop's, bound by EmitLoop
      if (depth != 1) return absl::UnimplementedError("block inputs are not supported");
      std::string var = NewVar(n);
      inputs_.push_back({var, names_.Unique(var + "_in")});
      return absl::OkStatus();
    }
    case OpCode::kGetAttr: {
      auto it = weight_members_.find(n.target());
      if (it == weight_members_.end()) return absl::InternalError("weight not in the list");
      vars_[&n] = it->second;
      return absl::OkStatus();
    }
    case OpCode::kCallModule:
    case OpCode::kCallFunction:
      if (n.blocks().size() == 1) return EmitBody(n, depth);
      if (n.op() == OpCode::kCallModule || !n.IsOperator()) {
        return absl::UnimplementedError("a leaf call without its traced body");
      }
      return EmitOperator(n);
    case OpCode::kIf:
      return EmitIf(n, depth);
    case OpCode::kLoop:
      return EmitLoop(n, depth);
    default:
      return absl::UnimplementedError(absl::StrCat(OpCodeName(n.op()), " is not supported"));
  }
}

// A leaf's inlined body, as an immediately invoked lambda:
//   // layer1.0.relu (ReLU)
//   auto layer1_0_relu = [&] {
//     ...
//     return relu_;
//   }();
absl::Status BodyEmitter::EmitBody(const Node& n, int depth) {
  std::string var = NewVar(n);
  EmitComment(n);
  p_.Emit({{"var", var}}, "auto $var$ = [&] {\n");
  {
    Printer::Indent indent(p_);
    ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(*n.blocks()[0], depth + 1));
    p_.Emit({{"value", Pack(results)}}, "return $value$;\n");
  }
  p_.Emit("}();\n");
  return absl::OkStatus();
}

// An `if` without results is an if/else statement; with results, a lambda
// that returns each branch's results.
absl::Status BodyEmitter::EmitIf(const Node& n, int depth) {
  ASSIGN_OR_RETURN(std::string cond, Expr(n.args()[0], "bool"));
  const Graph& then_block = *n.blocks()[0];
  const Graph& else_block = *n.blocks()[1];
  if (then_block.output()->args().empty()) {
    EmitComment(n);
    p_.Emit({{"cond", cond}}, "if ($cond$) {\n");
    {
      Printer::Indent indent(p_);
      RETURN_IF_ERROR(EmitGraph(then_block, depth + 2).status());
    }
    if (EmitsStatements(else_block)) {
      p_.Emit("} else {\n");
      Printer::Indent indent(p_);
      RETURN_IF_ERROR(EmitGraph(else_block, depth + 2).status());
    }
    p_.Emit("}\n");
    NewVar(n);  // nothing reads it; keeps later names as they were
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string type, CppType(n.type()));
  std::string var = NewVar(n);
  EmitComment(n);
  p_.Emit({{"type", type}, {"var", var}}, "$type$ $var$ = [&]() -> $type$ {\n");
  {
    Printer::Indent lambda(p_);
    p_.Emit({{"cond", cond}}, "if ($cond$) {\n");
    {
      Printer::Indent branch(p_);
      ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(then_block, depth + 2));
      ASSIGN_OR_RETURN(results, Coerce(then_block, results, n.type()));
      p_.Emit({{"value", Pack(results)}}, "return $value$;\n");
    }
    p_.Emit("}\n");
    ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(else_block, depth + 2));
    ASSIGN_OR_RETURN(results, Coerce(else_block, results, n.type()));
    p_.Emit({{"value", Pack(results)}}, "return $value$;\n");
  }
  p_.Emit("}();\n");
  return absl::OkStatus();
}

// prim::Loop(trip_count, condition, carried...) as a for loop in a lambda
// that returns the carried values; the body's placeholders are (iteration,
// carried...), its outputs (condition, carried...).
absl::Status BodyEmitter::EmitLoop(const Node& n, int depth) {
  const Graph& body = *n.blocks()[0];
  std::vector<Node*> params = body.Placeholders();
  size_t carried = n.args().size() - 2;
  if (params.size() != carried + 1 || body.output()->args().size() != carried + 1) {
    return absl::InternalError("loop body does not match its carried values");
  }
  ASSIGN_OR_RETURN(std::string trips, Expr(n.args()[0], "int"));
  ASSIGN_OR_RETURN(std::string cond, Expr(n.args()[1], "bool"));
  std::string var = NewVar(n);
  std::string go = names_.Unique(var + "_continue");
  std::vector<std::string> state, init;
  for (size_t k = 0; k < carried; ++k) {
    ASSIGN_OR_RETURN(std::string value, Expr(n.args()[k + 2], ""));
    init.push_back(value);
    state.push_back(NewVar(*params[k + 1]));
  }
  std::string i = NewVar(*params[0]);
  EmitComment(n);
  p_.Emit({{"var", var}}, "auto $var$ = [&] {\n");
  {
    Printer::Indent lambda(p_);
    p_.Emit({{"go", go}, {"cond", cond}}, "bool $go$ = $cond$;\n");
    for (size_t k = 0; k < carried; ++k) {
      p_.Emit({{"v", state[k]}, {"init", init[k]}}, "auto $v$ = $init$;\n");
    }
    p_.Emit({{"i", i}, {"go", go}, {"trips", trips}},
            "for (int64_t $i$ = 0; $go$ && $i$ < $trips$; ++$i$) {\n");
    {
      Printer::Indent loop(p_);
      ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(body, depth + 2));
      // Assign through temporaries: a result may read another carried value.
      std::vector<std::string> next;
      for (const std::string& result : results) {
        next.push_back(names_.Unique(absl::StrCat(var, "_next")));
        p_.Emit({{"next", next.back()}, {"value", result}}, "auto $next$ = $value$;\n");
      }
      p_.Emit({{"go", go}, {"next", next[0]}}, "$go$ = $next$;\n");
      for (size_t k = 0; k < carried; ++k) {
        p_.Emit({{"v", state[k]}, {"next", next[k + 1]}}, "$v$ = $next$;\n");
      }
    }
    p_.Emit({{"value", state.empty() ? "c10::nullopt" : Pack(state)}}, "}\nreturn $value$;\n");
  }
  p_.Emit("}();\n");
  if (state.empty()) {
    // Nothing carried: the lambda's value is a placeholder nobody reads.
    p_.Emit({{"var", var}}, "static_cast<void>($var$);\n");
    vars_[&n] = "c10::nullopt";
  }
  return absl::OkStatus();
}

// Makes a branch's results fit the `if`'s declared types: an Optional that
// TorchScript refined is unwrapped, and the placeholder value of a branch
// that raises (prim::Uninitialized, folded to None) becomes a default value.
absl::StatusOr<std::vector<std::string>> BodyEmitter::Coerce(const Graph& block,
                                                             std::vector<std::string> results,
                                                             const std::string& if_type) {
  std::vector<std::string> types;
  if (absl::StartsWith(if_type, "(")) {
    types = SplitTopLevel(absl::string_view(if_type).substr(1, if_type.size() - 2));
  } else {
    types.push_back(if_type);
  }
  const auto& outs = block.output()->args();
  for (size_t i = 0; i < results.size() && i < types.size() && i < outs.size(); ++i) {
    bool optional = IsOptionalType(types[i]);
    if (outs[i].kind() == Argument::Kind::kNone && !optional && types[i] != "NoneType") {
      ASSIGN_OR_RETURN(std::string t, CppType(types[i]));
      results[i] = t + "{}";
    } else if (outs[i].is_node() && !optional &&
               absl::StartsWith(outs[i].node()->type(), "Optional[")) {
      results[i] += ".value()";
    }
  }
  return results;
}

}  // namespace featx
