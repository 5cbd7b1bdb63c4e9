// walker.h (internal to //tracer)
//
// The walk behind featx::Trace: a TorchScript graph is walked node by node,
// each TorchScript value standing for a Value (a constant, a featx node, a
// structural list/tuple/dict, a module or a function). One Tracer per call
// of Trace. Its methods live in several files, one concern each:
//   tracer.cc     the walk itself: per-kind handler table, blocks, constants
//   structural.cc folding lists, tuples, dicts, getitem, len and constants
//                 into Values, with no node (FX records none for them)
//   emit.cc       emitting operator nodes: arguments, schemas, results
//   calls.cc      modules and functions: attributes, leaves, calls
//   control.cc    `if` and loops: folding, unrolling or structured nodes
// fx_source.h reads FX's spelling from source text; leaf_effects.h says what
// a leaf may do to its inputs.

#ifndef FEATX_TRACER_WALKER_H_
#define FEATX_TRACER_WALKER_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/schema.h"
#include "graph/type.h"
#include "torch/csrc/jit/api/module.h"
#include "torch/csrc/jit/ir/ir.h"
#include "tracer/tracer.h"

namespace featx {
namespace tracer_internal {

namespace jit = ::torch::jit;
using ObjectPtr = c10::intrusive_ptr<c10::ivalue::Object>;

// What a TorchScript value stands for during the walk.
struct Value {
  enum class Kind { kConstant, kNode, kList, kTuple, kModule, kFunction, kDict };
  Kind kind = Kind::kConstant;
  c10::IValue constant;               // kConstant
  Node* node = nullptr;               // kNode
  std::vector<Value> elements;        // kList, kTuple: some element is not constant; kDict: values
  std::vector<c10::IValue> keys;      // kDict: constant keys, in insertion order
  Type dict_type;                     // kDict: Dict[str, Tensor]
  ObjectPtr module;                   // kModule
  std::string path;                   // kModule: module path, "" for the root
  jit::Function* function = nullptr;  // kFunction

  static Value Constant(c10::IValue v) {
    Value r;
    r.constant = std::move(v);
    return r;
  }
  static Value OfNode(Node* n) {
    Value r;
    r.kind = Kind::kNode;
    r.node = n;
    return r;
  }
  bool is_constant() const { return kind == Kind::kConstant; }
  bool is_structural_sequence() const { return kind == Kind::kList || kind == Kind::kTuple; }
};

using Env = absl::flat_hash_map<const jit::Value*, Value>;

class Tracer {
 public:
  Tracer(Mode mode, const TraceOptions& options) : mode_(mode), options_(options) {}

  absl::StatusOr<std::unique_ptr<Graph>> Run(const jit::Module& module);

  // A handler for every node of one kind (a table in tracer.cc).
  using NodeHandler = absl::Status (Tracer::*)(const jit::Node*, Env&, const std::string&);
  // A structural folder: true if it bound the node's outputs without a node;
  // false to try the next folder, then emit the operator.
  using Folder = absl::StatusOr<bool> (Tracer::*)(const jit::Node*, std::vector<Value>&, Env&,
                                                  const std::string&);

 private:
  // The tables: node kind -> handler (tracer.cc), node kind -> folders
  // (structural.cc).
  static const absl::flat_hash_map<c10::unique_t, NodeHandler>& NodeHandlers();
  static const absl::flat_hash_map<c10::unique_t, std::vector<Folder>>& Folders();

  // ---- tracer.cc: the walk.
  absl::StatusOr<std::vector<Value>> Call(const jit::Graph& ts, std::vector<Value> inputs,
                                          const std::string& scope);
  absl::StatusOr<std::vector<Value>> WalkBlock(const jit::Block& block, Env& env,
                                               const std::string& scope);
  absl::Status WalkNode(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status Constant(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status UncheckedCast(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status Unsupported(const jit::Node* node, const std::string& scope, absl::string_view why);

  // ---- structural.cc: values with no node.
  absl::StatusOr<bool> FoldStructural(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                      const std::string& scope);
  absl::StatusOr<bool> FoldUninitialized(const jit::Node* node, std::vector<Value>& inputs,
                                         Env& env, const std::string& scope);
  absl::StatusOr<bool> SkipWarning(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                   const std::string& scope);
  absl::StatusOr<bool> FoldConstruct(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                     const std::string& scope);
  absl::StatusOr<bool> FoldUnpack(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                  const std::string& scope);
  absl::StatusOr<bool> FoldIndex(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                 const std::string& scope);
  absl::StatusOr<bool> FoldAppend(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                  const std::string& scope);
  absl::StatusOr<bool> FoldListLen(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                   const std::string& scope);
  absl::StatusOr<bool> FoldDictConstruct(const jit::Node* node, std::vector<Value>& inputs,
                                         Env& env, const std::string& scope);
  absl::StatusOr<bool> FoldDictOp(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                  const std::string& scope);
  absl::StatusOr<bool> FoldDictRead(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                    const std::string& scope);
  static bool CanFold(const jit::Node* node, const std::vector<Value>& inputs);
  absl::Status Fold(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                    const std::string& scope);

  // ---- emit.cc: operator nodes.
  absl::Status AddOperator(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                           const std::string& scope);
  absl::Status MaterializeMutatedLists(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                       const std::string& scope);
  absl::StatusOr<Argument> MaterializeDict(const Value& dict);
  absl::StatusOr<Argument> ToArg(const Value& v);
  absl::StatusOr<std::vector<Argument>> ToArgs(const jit::Node* node,
                                               const std::vector<Value>& inputs,
                                               const std::string& scope, size_t first = 0);
  void BindOutputs(const jit::Node* node, Node* n, Env& env, const std::string& scope);
  Node* GetItem(Node* of, size_t index, const jit::Node* origin, const std::string& scope);
  absl::StatusOr<std::shared_ptr<const OperatorSchema>> SchemaOf(const jit::Node* node);
  std::shared_ptr<const OperatorSchema> SchemaOfTarget(const std::string& target);

  // ---- calls.cc: modules and functions.
  absl::Status GetAttr(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status TensorListAttr(const jit::Node* node, const Value& owner, const std::string& path,
                              const c10::IValue& value, Env& env, const std::string& scope);
  absl::Status SetAttr(const jit::Node* node, Env& env, const std::string& scope);
  std::string SetAttrContext(const jit::Node* node, const Value& owner, const std::string& field);
  std::optional<size_t> FindSlot(const c10::ClassType& type, const std::string& field);
  Node* GetAttrNode(const std::string& path, bool buffer, const jit::Node* origin,
                    const std::string& scope);
  bool IsLeafModule(const ObjectPtr& module, const std::string& path) const;
  bool IsLeafFunction(const std::string& qualified) const;
  absl::Status CallMethod(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status CallFunction(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status AddLeaf(const jit::Node* node, NodeInit init, const std::vector<Value>& inputs,
                       jit::Function& body, Env& env, const std::string& scope,
                       const std::string& body_scope);
  absl::Status TraceBody(Node* n, const jit::Graph& body, const std::vector<Value>& inputs,
                         const std::string& scope);
  absl::Status BindCallOutputs(const jit::Node* node, std::vector<Value> outputs, Env& env);

  // ---- control.cc: `if` and loops.
  absl::Status If(const jit::Node* node, Env& env, const std::string& scope);
  absl::Status Loop(const jit::Node* node, Env& env, const std::string& scope);
  absl::StatusOr<bool> UnrollLoop(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                                  const std::string& scope);
  absl::Status ForgetNodesFrom(size_t size_before);
  absl::Status TraceBlock(const jit::Block& block, Graph* target, Env& env,
                          const std::string& scope);
  absl::Status AppendOutput(const absl::StatusOr<std::vector<Value>>& outputs);

  Mode mode_;
  const TraceOptions& options_;
  Graph* graph_ = nullptr;
  Graph* call_graph_ = nullptr;  // the graph the current function call started in
  int leaf_depth_ = 0;           // > 0 while tracing a leaf's body
  // Set once a prim::RaiseException is walked that always runs where it is:
  // the rest of the enclosing blocks is unreachable, up to the nearest
  // data-dependent block or leaf body.
  bool raised_ = false;
  // Module attributes assigned in forward, and those read from the module.
  absl::flat_hash_map<std::pair<const c10::ivalue::Object*, std::string>, Value> assigned_;
  absl::flat_hash_set<std::pair<const c10::ivalue::Object*, std::string>> read_;
  absl::flat_hash_map<std::pair<const Graph*, std::string>, Node*> attrs_;
  absl::flat_hash_map<const c10::ClassType*, absl::flat_hash_map<std::string, size_t>> slots_;
  absl::flat_hash_map<const c10::FunctionSchema*, std::shared_ptr<const OperatorSchema>> schemas_;
  absl::flat_hash_map<std::string, std::shared_ptr<const OperatorSchema>> target_schemas_;
};

// Helpers shared by the files above.
bool AllConstant(const std::vector<Value>& values);
bool IsUninitialized(const Value& v);
// True if a tensor occurs in `type` (a NamedTuple's fields included).
bool ContainsTensorType(const c10::TypePtr& type);
// "aten::add.Tensor" for an operator node with a schema.
std::string OperatorTarget(const jit::Node* node);
// NoneType for no result, a Tuple of the results' types for several
// (NodeInit::multiple_results).
Type OutputsType(const jit::Node* node);

}  // namespace tracer_internal
}  // namespace featx

#endif  // FEATX_TRACER_WALKER_H_
