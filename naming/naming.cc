#include "naming/naming.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"

namespace featx {

namespace {

// FX names a call to Python's `operator` functions after the function:
// operator.getitem -> "getitem", operator.and_ -> "and_". TorchScript spells
// them as dunder operators ("aten::__getitem__", "aten::__and__").
std::string DunderName(absl::string_view inner) {
  if (inner == "and" || inner == "or" || inner == "not" || inner == "is" || inner == "in") {
    return absl::StrCat(inner, "_");
  }
  if (inner == "isnot") return "is_not";
  return std::string(inner);
}

std::string FunctionOpName(const Node& node) {
  if (!node.IsOperator()) {
    // A TorchScript function: "__torch__.torch.nn.functional.relu" -> "relu".
    absl::string_view target = node.target();
    size_t dot = target.rfind('.');
    return std::string(dot == absl::string_view::npos ? target : target.substr(dot + 1));
  }
  absl::string_view op = node.OperatorName();
  // Indexing a tuple is operator.getitem in FX, like indexing a list.
  if (op == "prim::TupleIndex") return "getitem";
  op.remove_prefix(op.find("::") + 2);
  if (op.size() > 4 && absl::StartsWith(op, "__") && absl::EndsWith(op, "__")) {
    return DunderName(op.substr(2, op.size() - 4));
  }
  // In-place variants share the out-of-place name: add_ -> add.
  if (op.size() > 1 && absl::EndsWith(op, "_") && !absl::EndsWith(op, "__")) {
    op.remove_suffix(1);
  }
  return std::string(op);
}

class Namer {
 public:
  void Name(Node& node) {
    std::string base;
    if (node.op() == OpCode::kCallModule || node.op() == OpCode::kPlaceholder ||
        node.scope().empty()) {
      base = OpName(node);
    } else {
      base = absl::StrCat(node.scope(), ".", OpName(node));
    }
    int& count = counts_[base];
    std::string name = count == 0 ? base : absl::StrCat(base, "_", count);
    ++count;
    // A module path may already look like a counted name ("conv_1").
    while (!taken_.insert(name).second) name = absl::StrCat(base, "_", count++);
    node.set_name(std::move(name));
  }

 private:
  absl::flat_hash_map<std::string, int> counts_;
  absl::flat_hash_set<std::string> taken_;
};

}  // namespace

std::string OpName(const Node& node) {
  switch (node.op()) {
    case OpCode::kPlaceholder:
    case OpCode::kCallModule:
      return node.target();
    case OpCode::kGetAttr:
      return absl::StrReplaceAll(node.target(), {{".", "_"}});
    case OpCode::kCallFunction:
      return FunctionOpName(node);
    case OpCode::kOutput:
      return "output";
    case OpCode::kIf:
      return "if";
    case OpCode::kLoop:
      return "loop";
  }
  return "";
}

std::vector<std::string> NameNodes(Graph& graph) {
  Namer namer;
  std::vector<std::string> names;
  names.reserve(graph.size());
  for (const auto& node : graph.nodes()) {
    if (node->op() == OpCode::kOutput) continue;
    namer.Name(*node);
    names.push_back(node->name());
  }
  for (const auto& node : graph.nodes()) {
    for (const auto& block : node->blocks()) {
      ForEachNodeRecursive(*block, [&namer](Node* n) {
        if (n->op() != OpCode::kOutput) namer.Name(*n);
      });
    }
  }
  return names;
}

}  // namespace featx
