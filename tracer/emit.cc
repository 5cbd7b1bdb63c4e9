// Emitting operator nodes: a TorchScript operator becomes one call_function
// node with its arguments (literals, node values, materialized lists and
// dicts), its Type and its schema, converted once per operator
// (from_c10.h); several results are taken apart by getitem nodes, as in FX.

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "torch/csrc/jit/runtime/operator.h"
#include "tracer/from_c10.h"
#include "tracer/fx_source.h"
#include "tracer/walker.h"

namespace featx {
namespace tracer_internal {

std::string OperatorTarget(const jit::Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (schema == nullptr) return node->kind().toQualString();
  if (schema->overload_name().empty()) return schema->name();
  return absl::StrCat(schema->name(), ".", schema->overload_name());
}

Type OutputsType(const jit::Node* node) {
  if (node->outputs().empty()) return Type::None();
  if (node->outputs().size() == 1) return TypeFromC10(node->output()->type());
  std::vector<Type> types;
  for (const jit::Value* out : node->outputs()) types.push_back(TypeFromC10(out->type()));
  return Type::Tuple(std::move(types));
}

absl::Status Tracer::AddOperator(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                                 const std::string& scope) {
  ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope));
  ASSIGN_OR_RETURN(std::shared_ptr<const OperatorSchema> schema, SchemaOf(node));
  NodeInit init{.target = OperatorTarget(node),
                .args = std::move(args),
                .type = OutputsType(node),
                .multiple_results = node->outputs().size() > 1,
                .schema = std::move(schema),
                .scope = scope,
                .location = Location(node),
                .fx_op = FxOpFromSource(node)};
  // Which arguments it writes, and which one its result aliases, from the
  // schema's alias annotations ("Tensor(a!) self" -> "Tensor(a!)").
  if (init.schema != nullptr) {
    init.mutates = WrittenArguments(*init.schema);
    init.alias_of = AliasedArgument(*init.schema);
  }
  bool getitem = node->kind() == c10::aten::__getitem__ || node->kind() == c10::prim::TupleIndex;
  if (getitem && ContainsTensorType(node->output()->type())) init.alias_of = 0;
  Node* n = graph_->Append(std::move(init));
  BindOutputs(node, n, env, scope);
  return absl::OkStatus();
}

// The schema of an operator node, converted once per operator.
absl::StatusOr<std::shared_ptr<const OperatorSchema>> Tracer::SchemaOf(const jit::Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (schema == nullptr) return std::shared_ptr<const OperatorSchema>();
  auto [it, inserted] = schemas_.try_emplace(schema);
  if (inserted) {
    absl::StatusOr<OperatorSchema> converted = SchemaFromC10(*schema);
    if (!converted.ok()) {
      schemas_.erase(it);
      return converted.status();
    }
    it->second = std::make_shared<const OperatorSchema>(*std::move(converted));
  }
  return it->second;
}

// The schema of an operator the tracer calls itself ("aten::list.t"), from
// the registry; null if the registry has none (prim::TupleIndex).
std::shared_ptr<const OperatorSchema> Tracer::SchemaOfTarget(const std::string& target) {
  auto [it, inserted] = target_schemas_.try_emplace(target);
  if (!inserted) return it->second;
  size_t dot = target.find('.', target.find("::"));
  std::string name = target.substr(0, dot);
  std::string overload = dot == std::string::npos ? "" : target.substr(dot + 1);
  for (const auto& op : jit::getAllOperatorsFor(c10::Symbol::fromQualString(name))) {
    if (op->schema().overload_name() != overload) continue;
    absl::StatusOr<OperatorSchema> converted = SchemaFromC10(op->schema());
    if (converted.ok()) it->second = std::make_shared<const OperatorSchema>(*std::move(converted));
    break;
  }
  return it->second;
}

// An op that writes a list in place (shift_size[0] = 0) must not be folded:
// it may sit in a branch that only the input decides. The list becomes a
// runtime value first, made where the function begins so that code after
// the branch sees the same list.
absl::Status Tracer::MaterializeMutatedLists(const jit::Node* node, std::vector<Value>& inputs,
                                             Env& env, const std::string& scope) {
  ASSIGN_OR_RETURN(std::shared_ptr<const OperatorSchema> schema, SchemaOf(node));
  if (schema == nullptr) return absl::OkStatus();
  for (int i : WrittenArguments(*schema)) {
    if (i >= static_cast<int>(inputs.size())) continue;
    if (inputs[i].kind != Value::Kind::kConstant && inputs[i].kind != Value::Kind::kList) continue;
    if (!node->input(i)->type()->cast<c10::ListType>()) {
      return Unsupported(node, scope, "writing in place into a constant that is not a list");
    }
    ASSIGN_OR_RETURN(Argument literal, ToArg(inputs[i]));
    NodeInit init{.target = "aten::list.t",
                  .args = {std::move(literal)},
                  .type = TypeFromC10(node->input(i)->type()),
                  .schema = SchemaOfTarget("aten::list.t"),
                  .scope = scope,
                  .location = Location(node)};
    Node* list;
    if (graph_ == call_graph_) {
      list = graph_->Append(std::move(init));
    } else {
      // Before the structured node of the function's graph that holds us.
      Node* holder = graph_->parent();
      while (holder->owner() != call_graph_) holder = holder->owner()->parent();
      list = call_graph_->InsertBefore(holder, std::move(init));
    }
    env[node->input(i)] = Value::OfNode(list);
    inputs[i] = Value::OfNode(list);
  }
  return absl::OkStatus();
}

// A dict where a runtime value is needed (a graph output, an operator's or a
// leaf's argument): one prim::DictConstruct node, args key, value, ... FX
// passes such a dict as a literal argument, so it records no node for it;
// IsListedByTorchvision leaves this node out of the listed names.
absl::StatusOr<Argument> Tracer::MaterializeDict(const Value& dict) {
  std::vector<Argument> args;
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    ASSIGN_OR_RETURN(Argument key, LiteralFromIValue(dict.keys[i]));
    ASSIGN_OR_RETURN(Argument value, ToArg(dict.elements[i]));
    args.push_back(std::move(key));
    args.push_back(std::move(value));
  }
  Node* n = graph_->Append({.target = "prim::DictConstruct",
                            .args = std::move(args),
                            .type = dict.dict_type,
                            .schema = SchemaOfTarget("prim::DictConstruct")});
  return Argument::NodeRef(n);
}

absl::StatusOr<Argument> Tracer::ToArg(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kConstant:
      return LiteralFromIValue(v.constant);
    case Value::Kind::kNode:
      return Argument::NodeRef(v.node);
    case Value::Kind::kList:
    case Value::Kind::kTuple: {
      std::vector<Argument> elements;
      for (const Value& e : v.elements) {
        ASSIGN_OR_RETURN(Argument a, ToArg(e));
        elements.push_back(std::move(a));
      }
      return v.kind == Value::Kind::kList ? Argument::List(std::move(elements))
                                          : Argument::Tuple(std::move(elements));
    }
    case Value::Kind::kModule:
      return absl::UnimplementedError(absl::StrCat(
          "module '", v.path, "' is passed as a value; mark its user as a leaf module"));
    case Value::Kind::kFunction:
      return absl::UnimplementedError("a function is passed as a value");
    case Value::Kind::kDict:
      return MaterializeDict(v);
  }
  return absl::InternalError("unknown value kind");
}

absl::StatusOr<std::vector<Argument>> Tracer::ToArgs(const jit::Node* node,
                                                     const std::vector<Value>& inputs,
                                                     const std::string& scope, size_t first) {
  std::vector<Argument> args;
  for (size_t i = first; i < inputs.size(); ++i) {
    absl::StatusOr<Argument> a = ToArg(inputs[i]);
    if (!a.ok()) return Unsupported(node, scope, a.status().message());
    args.push_back(std::move(*a));
  }
  return args;
}

// Binds the outputs of `node` to the value of `n`: one output directly,
// several through getitem nodes.
void Tracer::BindOutputs(const jit::Node* node, Node* n, Env& env, const std::string& scope) {
  if (node->outputs().size() == 1) {
    env[node->output()] = Value::OfNode(n);
    return;
  }
  for (size_t i = 0; i < node->outputs().size(); ++i) {
    env[node->outputs()[i]] = Value::OfNode(GetItem(n, i, node, scope));
  }
}

// An element taken out of a list or tuple shares storage with the container
// as far as in-place safety is concerned (chunk's pieces are views).
Node* Tracer::GetItem(Node* of, size_t index, const jit::Node* origin, const std::string& scope) {
  std::string target =
      origin->kind() == c10::prim::ListUnpack ? "aten::__getitem__.t" : "prim::TupleIndex";
  return graph_->Append({.target = target,
                         .args = {Argument::NodeRef(of), Argument::Int(index)},
                         .type = TypeFromC10(origin->outputs()[index]->type()),
                         .schema = SchemaOfTarget(target),
                         .scope = scope,
                         .location = Location(origin),
                         .alias_of = 0});
}

}  // namespace tracer_internal
}  // namespace featx
