// graph.h
//
// featx's intermediate representation, modelled on torch.fx. A Graph owns its
// Nodes in execution (topological) order. Each Node computes one value; an op
// with several results produces a tuple that `getitem` nodes take apart, as in
// FX. Arguments are other nodes' values or typed literals. Users are kept up to
// date by every edit that goes through Graph. No LibTorch here: the tracer
// fills a Graph, and naming, pruning and the C++ emitter read and edit it.
//
// Example:
//   Graph g;
//   Node* x = g.Append({.op = OpCode::kPlaceholder, .target = "x"});
//   Node* r = g.Append({.op = OpCode::kCallFunction, .target = "aten::relu",
//                       .args = {Argument::NodeRef(x)}});
//   g.Append({.op = OpCode::kOutput, .args = {Argument::NodeRef(r)}});
//   // x->users() == {r}
//
// Structured control flow: an `if` node has two blocks (then, else) and a
// `loop` node one body block. A leaf call_module or call_function may carry
// its callee's inlined body as one block, for code generation. A block is a nested Graph whose
// placeholders are the block's inputs and whose output node yields its results. Nodes in a block
// may use values defined earlier in any enclosing graph.

#ifndef FEATX_GRAPH_GRAPH_H_
#define FEATX_GRAPH_GRAPH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace featx {

class Graph;
class Node;

enum class OpCode {
  kPlaceholder,   // a graph input; target is the argument name
  kGetAttr,       // a parameter or buffer; target is its path ("layer1.0.bn1.weight")
  kCallModule,    // a leaf module; target is its module path
  kCallFunction,  // an operator ("aten::add.Tensor") or a function's qualified name
  kOutput,        // the graph's results
  kIf,            // args[0] is the condition; blocks then/else
  kLoop,          // args: trip count, initial condition, carried values; one body
};

absl::string_view OpCodeName(OpCode op);
std::optional<OpCode> ParseOpCode(absl::string_view name);

// An argument of a node: a literal, another node's value, or a list or tuple of
// arguments. Lists may mix literals and node values (`[%n, -1]`).
class Argument {
 public:
  enum class Kind { kNone, kBool, kInt, kDouble, kString, kDevice, kNode, kList, kTuple };

  Argument() = default;
  static Argument None() { return Argument(); }
  static Argument Bool(bool v);
  static Argument Int(int64_t v);
  static Argument Double(double v);
  static Argument String(std::string v);
  static Argument Device(std::string v);
  static Argument NodeRef(Node* node);
  static Argument List(std::vector<Argument> elements);
  static Argument Tuple(std::vector<Argument> elements);

  Kind kind() const { return kind_; }
  bool is_node() const { return kind_ == Kind::kNode; }
  bool bool_value() const { return int_ != 0; }
  int64_t int_value() const { return int_; }
  double double_value() const { return double_; }
  // The string of a kString or kDevice.
  const std::string& string_value() const { return string_; }
  Node* node() const { return node_; }
  // The elements of a kList or kTuple.
  const std::vector<Argument>& elements() const { return elements_; }

  // True if no node value occurs in this argument, however deeply nested.
  bool IsLiteral() const;
  // Calls `fn` for every node value in this argument, in order.
  void ForEachNode(const std::function<void(Node*)>& fn) const;
  // Returns a copy with node values mapped by `fn`.
  Argument MapNodes(const std::function<Node*(Node*)>& fn) const;

  friend bool operator==(const Argument& a, const Argument& b);
  friend bool operator!=(const Argument& a, const Argument& b) { return !(a == b); }

 private:
  Kind kind_ = Kind::kNone;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  Node* node_ = nullptr;
  std::vector<Argument> elements_;
};

// What a new node is made of. Fields not set stay empty.
struct NodeInit {
  OpCode op = OpCode::kCallFunction;
  std::string target;
  std::vector<Argument> args;
  std::string type = "Tensor";  // TorchScript spelling: "Tensor", "int[]", "(Tensor, Tensor?)"
  std::string scope;            // module path the node was traced in: "layer1.0"
  // call_module: the module's TorchScript class; get_attr: "parameter" or "buffer".
  std::string module_type;
  std::string location;  // source location, for messages: "resnet.py:92:14"
  // Indices of arguments this node writes in place (aten::add_ writes 0, as
  // does a leaf ReLU(inplace=True)). Pruning keeps returned values safe from them.
  std::vector<int> mutates;
  // Index of the argument whose storage this node's value shares (in-place
  // ops and views: aten::relu_, aten::view), or -1.
  int alias_of = -1;
  // The op part of the name FX gives this node, where it differs from what the
  // target implies: "getattr" for `x.shape` (aten::size), "add" for `y += x`
  // (aten::add_), "max_pool2d" for torch.nn.functional._max_pool2d. Set by
  // the tracer from the source; //naming uses it. Empty: derive from target.
  std::string fx_op;
};

class Node {
 public:
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  OpCode op() const { return op_; }
  const std::string& target() const { return target_; }
  const std::vector<Argument>& args() const { return args_; }
  const std::string& type() const { return type_; }
  const std::string& scope() const { return scope_; }
  const std::string& module_type() const { return module_type_; }
  const std::string& location() const { return location_; }
  const std::vector<int>& mutates() const { return mutates_; }
  int alias_of() const { return alias_of_; }
  const std::string& fx_op() const { return fx_op_; }
  // Nodes whose arguments use this node's value, each once, in order of first use.
  const std::vector<Node*>& users() const { return users_; }
  // The graph that owns this node.
  Graph* owner() const { return owner_; }
  // Nested graphs of an `if` (then, else) or a `loop` (body).
  const std::vector<std::unique_ptr<Graph>>& blocks() const { return blocks_; }

  // The human-readable name, once naming has run; empty before.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  void set_type(std::string type) { type_ = std::move(type); }

  // For call_function of an operator: "aten::add" and "Tensor" of
  // "aten::add.Tensor". For other nodes the target and "".
  absl::string_view OperatorName() const;
  absl::string_view OverloadName() const;
  bool IsOperator() const;

  // True if this node must run even when nobody uses its value: graph inputs and
  // outputs, raising exceptions, and control flow containing such nodes.
  bool HasSideEffects() const;

 private:
  friend class Graph;
  Node(Graph* owner, NodeInit init);

  OpCode op_;
  std::string target_;
  std::vector<Argument> args_;
  std::string type_;
  std::string scope_;
  std::string module_type_;
  std::string location_;
  std::vector<int> mutates_;
  int alias_of_;
  std::string fx_op_;
  std::string name_;
  Graph* owner_;
  int index_ = 0;  // position in owner_->nodes(), kept current by Graph
  std::vector<Node*> users_;
  std::vector<std::unique_ptr<Graph>> blocks_;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // The nodes in execution order.
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  size_t size() const { return nodes_.size(); }
  // The node that owns this graph as a block, or null at the top level.
  Node* parent() const { return parent_; }
  // The output node, or null if there is none yet.
  Node* output() const;
  // The placeholder nodes, in order.
  std::vector<Node*> Placeholders() const;

  // Adds a node at the end. Its argument nodes must be in this graph or an
  // enclosing one; their users are updated.
  Node* Append(NodeInit init);
  // Adds a node just before `position`, which must be in this graph.
  Node* InsertBefore(const Node* position, NodeInit init);
  // Adds an empty block to an `if` or `loop` node of this graph.
  Graph* AddBlock(Node* node);

  // Replaces the arguments of `node`, keeping users consistent.
  void SetArgs(Node* node, std::vector<Argument> args);
  // Makes every user of `from` use `to` instead. `to` must come before those users.
  void ReplaceAllUsesWith(Node* from, Node* to);
  // Removes a node that has no users (a FailedPrecondition error otherwise).
  absl::Status Erase(Node* node);
  // Removes, in one pass, every node for which `pred` holds; they must have no
  // users outside the removed set. Returns how many were removed.
  int EraseIf(const std::function<bool(const Node&)>& pred);

  // Position of `node` in nodes(), or -1 if it is not in this graph. O(1).
  int IndexOf(const Node* node) const;

 private:
  Node* Insert(size_t index, NodeInit init);
  void Reindex(size_t from);
  void AddUses(Node* user);
  void RemoveUses(Node* user);

  std::vector<std::unique_ptr<Node>> nodes_;
  Node* parent_ = nullptr;
};

// Checks the graph's invariants: every argument node is defined earlier in this
// graph or an enclosing one, users match arguments exactly, placeholders come
// first, there is exactly one output node and it is last, and each opcode has
// its required fields and blocks. Returns Internal with the offending node.
absl::Status Verify(const Graph& graph);

// Visits every node of `graph` and of its nested blocks, in execution order
// (a node before the nodes of its blocks).
void ForEachNodeRecursive(const Graph& graph, const std::function<void(Node*)>& fn);

}  // namespace featx

#endif  // FEATX_GRAPH_GRAPH_H_
