#include "naming/naming.h"

#include <algorithm>
#include <iterator>
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

// torch.nn.functional's boolean-dispatched functions: F.max_pool2d is
// _max_pool2d or max_pool2d_with_indices, chosen by `return_indices` when the
// function is called. TorchScript calls the chosen one; FX records
// _max_pool2d under the public name (its __torch_function__ dispatch names
// max_pool2d) and max_pool2d_with_indices under its own.
constexpr absl::string_view kBooleanDispatched[] = {
    "_max_pool1d",
    "_max_pool2d",
    "_max_pool3d",
    "_adaptive_max_pool1d",
    "_adaptive_max_pool2d",
    "_adaptive_max_pool3d",
    "_fractional_max_pool2d",
    "_fractional_max_pool3d",
};

std::string FunctionOpName(const Node& node) {
  if (!node.IsOperator()) {
    // A TorchScript function: "__torch__.torch.nn.functional.relu" -> "relu".
    absl::string_view target = node.target();
    size_t dot = target.rfind('.');
    absl::string_view name = dot == absl::string_view::npos ? target : target.substr(dot + 1);
    if (absl::StrContains(target, "torch.nn.functional.") &&
        std::find(std::begin(kBooleanDispatched), std::end(kBooleanDispatched), name) !=
            std::end(kBooleanDispatched)) {
      name.remove_prefix(1);
    }
    return std::string(name);
  }
  absl::string_view op = node.OperatorName();
  // Indexing a tuple is operator.getitem in FX, like indexing a list.
  if (op == "prim::TupleIndex") return "getitem";
  op.remove_prefix(op.find("::") + 2);
  if (op.size() > 4 && absl::StartsWith(op, "__") && absl::EndsWith(op, "__")) {
    return DunderName(op.substr(2, op.size() - 4));
  }
  // In-place operators keep their underscore, as FX names the method call
  // `x.relu_()` "relu_". (`y += x` is "add" in FX; the tracer records that
  // in Node::fx_op.)
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
      if (!node.fx_op().empty()) return node.fx_op();
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

bool IsListedByTorchvision(const Node& node) {
  if (node.op() == OpCode::kOutput) return false;
  // torchvision's tracer makes buffers get_attr nodes without recording a name.
  if (node.op() == OpCode::kGetAttr && node.module_type() == "buffer") return false;
  // A dict FX passes as a literal argument (a dict-returning forward's result).
  if (node.target() == "prim::DictConstruct") return false;
  return true;
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
