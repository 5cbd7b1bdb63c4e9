// Modules and functions: attribute reads and writes, calls that are walked
// through (non-leaf modules, methods, user functions) and leaf calls, one
// node each, whose effects on their inputs leaf_effects.h decides.

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "torch/csrc/jit/api/function_impl.h"
#include "tracer/fx_source.h"
#include "tracer/leaf_effects.h"
#include "tracer/leaf_modules.h"
#include "tracer/ops_subclasses.h"
#include "tracer/walker.h"

namespace featx {
namespace tracer_internal {

namespace {

absl::string_view ShortName(absl::string_view qualified) {
  size_t dot = qualified.rfind('.');
  return dot == absl::string_view::npos ? qualified : qualified.substr(dot + 1);
}

// A module's `inplace` flag: TorchScript keeps it as a class constant (it is
// in torch.nn's __constants__), or as an attribute.
bool InplaceFlag(const ObjectPtr& module) {
  const c10::ClassTypePtr& cls = module->type();
  c10::IValue flag;
  if (cls->hasConstant("inplace")) {
    flag = cls->getConstant("inplace");
  } else if (cls->hasAttribute("inplace")) {
    flag = module->getAttr("inplace");
  }
  return flag.isBool() && flag.toBool();
}

// A call's `inplace=True` argument (F.relu(x, inplace=True)).
bool InplaceArgument(const jit::Function& function, const std::vector<Value>& inputs) {
  const auto& params = function.getSchema().arguments();
  for (size_t i = 0; i < params.size() && i < inputs.size(); ++i) {
    if (params[i].name() == "inplace" && inputs[i].is_constant() && inputs[i].constant.isBool() &&
        inputs[i].constant.toBool()) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::Status Tracer::GetAttr(const jit::Node* node, Env& env, const std::string& scope) {
  const Value& owner = env.at(node->input());
  const std::string& field = node->s(c10::attr::name);
  if (owner.kind != Value::Kind::kModule) {
    return Unsupported(node, scope, "reading an attribute of something that is not a module");
  }
  std::string path = owner.path.empty() ? field : absl::StrCat(owner.path, ".", field);
  if (field == "training") {
    env[node->output()] = Value::Constant(mode_ == Mode::kTrain);
    return absl::OkStatus();
  }
  const c10::ClassTypePtr& type = owner.module->type();
  auto assigned = assigned_.find(std::make_pair(owner.module.get(), field));
  if (assigned != assigned_.end()) {
    env[node->output()] = assigned->second;
    return absl::OkStatus();
  }
  read_.insert(std::make_pair(owner.module.get(), field));
  std::optional<size_t> slot = FindSlot(*type, field);
  if (!slot.has_value()) return Unsupported(node, scope, "unknown attribute " + path);
  c10::IValue value = owner.module->getSlot(*slot);
  if (value.isTensorList() ||
      (value.isList() && value.toListRef().size() > 0 && value.toListRef()[0].isTensor())) {
    return TensorListAttr(node, owner, path, value, env, scope);
  }
  if (value.isObject() && value.toObjectRef().type()->is_module()) {
    Value m;
    m.kind = Value::Kind::kModule;
    m.module = value.toObject();
    m.path = std::move(path);
    env[node->output()] = std::move(m);
    return absl::OkStatus();
  }
  if (value.isTensor()) {
    env[node->output()] = Value::OfNode(GetAttrNode(path, type->is_buffer(*slot), node, scope));
    return absl::OkStatus();
  }
  if (value.isObject()) {
    return Unsupported(node, scope, "reading a TorchScript class attribute " + path);
  }
  env[node->output()] = Value::Constant(std::move(value));
  return absl::OkStatus();
}

// A list attribute of tensors that are the module's own parameters or
// buffers (nn.LSTM's `_flat_weights` holds weight_ih_l0, weight_hh_l0, ...):
// a list of get_attr nodes, found by tensor identity.
absl::Status Tracer::TensorListAttr(const jit::Node* node, const Value& owner,
                                    const std::string& path, const c10::IValue& value, Env& env,
                                    const std::string& scope) {
  const c10::ClassType& type = *owner.module->type();
  Value list;
  list.kind = Value::Kind::kList;
  for (const c10::IValue& element : value.toListRef()) {
    std::optional<size_t> found;
    for (size_t i = 0; element.isTensor() && i < type.numAttributes() && !found; ++i) {
      const c10::IValue& slot = owner.module->getSlot(i);
      if ((type.is_parameter(i) || type.is_buffer(i)) && slot.isTensor() &&
          slot.toTensor().unsafeGetTensorImpl() == element.toTensor().unsafeGetTensorImpl()) {
        found = i;
      }
    }
    if (!found.has_value()) {
      return Unsupported(node, scope,
                         absl::StrCat("attribute ", path,
                                      " is a list of tensors that are not all parameters or "
                                      "buffers of the module; mark the module as a leaf"));
    }
    std::string name = type.getAttributeName(*found);
    list.elements.push_back(
        Value::OfNode(GetAttrNode(owner.path.empty() ? name : absl::StrCat(owner.path, ".", name),
                                  type.is_buffer(*found), node, scope)));
  }
  env[node->output()] = std::move(list);
  return absl::OkStatus();
}

// `self.x = value` in forward. Supported as state local to the call: later
// reads in this trace see `value`. Unsound, and so refused, when the value
// may carry over from an earlier call (the attribute was read before this
// assignment, as in `self.calls = self.calls + 1`) or when the assignment
// happens only on some paths (inside a data-dependent `if` or loop).
absl::Status Tracer::SetAttr(const jit::Node* node, Env& env, const std::string& scope) {
  const Value& owner = env.at(node->input(0));
  const std::string& field = node->s(c10::attr::name);
  if (owner.kind != Value::Kind::kModule) {
    return Unsupported(node, scope, "assigning an attribute of something that is not a module");
  }
  std::string where = SetAttrContext(node, owner, field);
  auto key = std::make_pair(owner.module.get(), field);
  if (read_.contains(key)) {
    return absl::UnimplementedError(absl::StrCat(
        "cannot trace ", where,
        ": forward reads the attribute before assigning it, so its value carries over from "
        "one call to the next, which an extractor cannot reproduce"));
  }
  for (Graph* g = graph_; g->parent() != nullptr; g = g->parent()->owner()) {
    if (g->parent()->op() == OpCode::kIf || g->parent()->op() == OpCode::kLoop) {
      return absl::UnimplementedError(
          absl::StrCat("cannot trace ", where,
                       ": it is assigned inside a branch or loop that depends on the input"));
    }
  }
  assigned_[key] = env.at(node->input(1));
  return absl::OkStatus();
}

// "the assignment to attribute 'cache' of module 'block' (class Block) at
// model.py:31:8": prim::SetAttr records no source range, so the location
// is that of the nearest node in its block that has one (usually the
// assigned value), else of the `if` or loop holding it.
std::string Tracer::SetAttrContext(const jit::Node* node, const Value& owner,
                                   const std::string& field) {
  std::string loc;
  for (const jit::Node* at = node; loc.empty() && at != nullptr;
       at = at->owningBlock()->owningNode()) {
    for (const jit::Node* n = at->prev(); loc.empty() && n->kind() != c10::prim::Param;
         n = n->prev()) {
      loc = Location(n);
    }
    for (const jit::Node* n = at->next(); loc.empty() && n->kind() != c10::prim::Return;
         n = n->next()) {
      loc = Location(n);
    }
    // Alone in its block: the `if` or loop that holds it.
    if (loc.empty() && at->owningBlock()->owningNode() != nullptr) {
      loc = Location(at->owningBlock()->owningNode());
    }
  }
  std::string cls(ShortName(DemangleClassName(owner.module->type()->name()->qualifiedName())));
  std::string module = owner.path.empty()
                           ? absl::StrCat("of the top-level module (class ", cls, ")")
                           : absl::StrCat("of module '", owner.path, "' (class ", cls, ")");
  return absl::StrCat("the assignment to attribute '", field, "' ", module,
                      loc.empty() ? "" : absl::StrCat(" at ", loc));
}

// ClassType::findAttributeSlot scans every attribute, which is quadratic for
// a ModuleList of N blocks read N times; index each class once instead.
std::optional<size_t> Tracer::FindSlot(const c10::ClassType& type, const std::string& field) {
  auto [it, inserted] = slots_.try_emplace(&type);
  if (inserted) {
    for (size_t i = 0; i < type.numAttributes(); ++i) it->second[type.getAttributeName(i)] = i;
  }
  auto found = it->second.find(field);
  if (found == it->second.end()) return std::nullopt;
  return found->second;
}

// One get_attr node per parameter path and graph, as FX caches its proxies.
Node* Tracer::GetAttrNode(const std::string& path, bool buffer, const jit::Node* origin,
                          const std::string& scope) {
  // Leaf bodies keep their own get_attr nodes.
  for (Graph* g = graph_; g != nullptr;
       g = g->parent() == nullptr || leaf_depth_ > 0 ? nullptr : g->parent()->owner()) {
    auto it = attrs_.find(std::make_pair(g, path));
    if (it != attrs_.end()) return it->second;
  }
  Node* n = graph_->Append({.op = OpCode::kGetAttr,
                            .target = path,
                            .scope = scope,
                            .module_type = buffer ? "buffer" : "parameter",
                            .location = Location(origin)});
  attrs_[std::make_pair(graph_, path)] = n;
  return n;
}

bool Tracer::IsLeafModule(const ObjectPtr& module, const std::string& path) const {
  if (leaf_depth_ > 0) return false;  // inside a leaf body everything is inlined
  std::string cls = DemangleClassName(module->type()->name()->qualifiedName());
  for (const std::string& leaf : options_.leaf_modules) {
    if (LeafModuleMatches(leaf, cls, path)) return true;
  }
  if (absl::StartsWith(cls, "torchvision.ops.") || !TorchvisionOpsBase(cls).empty()) return true;
  if (absl::StartsWith(cls, "torch.nn.") || absl::StartsWith(cls, "torch.ao.nn.")) {
    absl::string_view short_name = absl::string_view(cls).substr(cls.rfind('.') + 1);
    return short_name != "Sequential" && short_name != "ModuleList" && short_name != "ModuleDict";
  }
  return false;
}

bool Tracer::IsLeafFunction(const std::string& qualified) const {
  if (leaf_depth_ > 0) return false;
  std::string name = DemangleClassName(qualified);
  for (const std::string& f : options_.autowrap_functions) {
    if (f == name || f == qualified || absl::EndsWith(name, absl::StrCat(".", f))) {
      return true;
    }
  }
  return absl::StartsWith(name, "torch.") || absl::StartsWith(name, "torchvision.");
}

absl::Status Tracer::CallMethod(const jit::Node* node, Env& env, const std::string& scope) {
  const Value& callee = env.at(node->input(0));
  if (callee.kind != Value::Kind::kModule) {
    return Unsupported(node, scope, "calling a method of something that is not a module");
  }
  const std::string& method = node->s(c10::attr::name);
  std::vector<Value> inputs;
  for (const jit::Value* in : node->inputs()) inputs.push_back(env.at(in));
  bool forward = IsForward(method);
  jit::Function& fn = callee.module->type()->getMethod(method);
  if (forward && IsLeafModule(callee.module, callee.path)) {
    ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope, /*first=*/1));
    std::string cls = callee.module->type()->name()->qualifiedName();
    LeafEffects effects =
        EffectsOfLeaf(LeafKind::kModule, DemangleClassName(cls), InplaceFlag(callee.module));
    NodeInit init{.op = OpCode::kCallModule,
                  .target = callee.path,
                  .args = std::move(args),
                  .module_type = std::move(cls),
                  .mutates = std::move(effects.mutates),
                  .alias_of = effects.alias_of};
    return AddLeaf(node, std::move(init), inputs, fn, env, scope, callee.path);
  }
  // FX changes the scope only when a module is called, not for its other methods.
  ASSIGN_OR_RETURN(
      std::vector<Value> outputs,
      Call(*jit::toGraphFunction(fn).graph(), std::move(inputs), forward ? callee.path : scope));
  return BindCallOutputs(node, std::move(outputs), env);
}

absl::Status Tracer::CallFunction(const jit::Node* node, Env& env, const std::string& scope) {
  const Value& callee = env.at(node->input(0));
  if (callee.kind != Value::Kind::kFunction) {
    return Unsupported(node, scope, "calling something that is not a known function");
  }
  std::string qualified = callee.function->qualname().qualifiedName();
  std::vector<Value> inputs;
  for (size_t i = 1; i < node->inputs().size(); ++i) inputs.push_back(env.at(node->input(i)));
  if (IsLeafFunction(qualified)) {
    ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope));
    LeafEffects effects = EffectsOfLeaf(LeafKind::kFunction, DemangleClassName(qualified),
                                        InplaceArgument(*callee.function, inputs));
    NodeInit init{.target = std::move(qualified),
                  .args = std::move(args),
                  .mutates = std::move(effects.mutates),
                  .alias_of = effects.alias_of};
    return AddLeaf(node, std::move(init), inputs, *callee.function, env, scope, scope);
  }
  ASSIGN_OR_RETURN(std::vector<Value> outputs,
                   Call(*jit::toGraphFunction(*callee.function).graph(), std::move(inputs), scope));
  return BindCallOutputs(node, std::move(outputs), env);
}

// Appends a leaf call made from `init` (its target, arguments and effects)
// with the call's type, scope and location, traces its body if asked
// (TraceOptions::with_bodies) in `body_scope`, and binds its results.
absl::Status Tracer::AddLeaf(const jit::Node* node, NodeInit init, const std::vector<Value>& inputs,
                             jit::Function& body, Env& env, const std::string& scope,
                             const std::string& body_scope) {
  init.type = OutputsType(node);
  init.multiple_results = node->outputs().size() > 1;
  init.scope = scope;
  init.location = Location(node);
  Node* n = graph_->Append(std::move(init));
  if (options_.with_bodies) {
    RETURN_IF_ERROR(TraceBody(n, *jit::toGraphFunction(body).graph(), inputs, body_scope));
  }
  BindOutputs(node, n, env, scope);
  return absl::OkStatus();
}

// Traces a leaf's body into a new block of `n` (TraceOptions::with_bodies),
// inlining everything in it.
absl::Status Tracer::TraceBody(Node* n, const jit::Graph& body, const std::vector<Value>& inputs,
                               const std::string& scope) {
  Graph* saved = graph_;
  graph_ = saved->AddBlock(n);
  ++leaf_depth_;
  bool raised_before = raised_;
  absl::StatusOr<std::vector<Value>> outputs = Call(body, inputs, scope);
  raised_ = raised_before;  // the leaf stays one node of the caller
  absl::Status status = AppendOutput(outputs);
  --leaf_depth_;
  graph_ = saved;
  return status;
}

absl::Status Tracer::BindCallOutputs(const jit::Node* node, std::vector<Value> outputs, Env& env) {
  if (outputs.size() != node->outputs().size()) {
    return absl::InternalError("call returned the wrong number of values");
  }
  for (size_t i = 0; i < outputs.size(); ++i) env[node->outputs()[i]] = std::move(outputs[i]);
  return absl::OkStatus();
}

}  // namespace tracer_internal
}  // namespace featx
