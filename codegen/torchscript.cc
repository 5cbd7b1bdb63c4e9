#include "codegen/torchscript.h"

#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "graph/text.h"
#include "pruning/dead_code.h"
#include "torch/csrc/jit/api/function_impl.h"
#include "torch/csrc/jit/frontend/resolver.h"
#include "torch/csrc/jit/frontend/schema_matching.h"
#include "torch/csrc/jit/ir/ir.h"
#include "torch/csrc/jit/runtime/operator.h"

namespace featx {

namespace {

namespace jit = ::torch::jit;

std::vector<std::string> SplitPath(const std::string& path) {
  return absl::StrSplit(path, '.', absl::SkipEmpty());
}

// The submodule of `root` at `path` ("layer1.0.conv1").
absl::StatusOr<jit::Module> FindModule(const jit::Module& root, const std::string& path) {
  jit::Module m = root;
  for (const std::string& part : SplitPath(path)) {
    if (!m.hasattr(part) || !m.attr(part).isModule()) {
      return absl::NotFoundError(absl::StrCat("model has no submodule '", path, "'"));
    }
    m = m.attr(part).toModule();
  }
  return m;
}

// Builds the extractor's module tree: copies of the leaf modules and of the
// parameters and buffers read directly, under empty container modules that
// reproduce the original paths.
class ModuleTree {
 public:
  ModuleTree(const jit::Module& model, std::shared_ptr<jit::CompilationUnit> cu)
      : model_(model), cu_(std::move(cu)), root_(NewModule("__torch__.featx.FeatureExtractor")) {
    containers_.emplace("", root_);
  }

  const jit::Module& root() const { return root_; }

  absl::Status AddLeafModule(const std::string& path) {
    if (InsideLeaf(path)) return absl::OkStatus();
    ASSIGN_OR_RETURN(jit::Module original, FindModule(model_, path));
    auto [parent, name] = ParentAndName(path);
    ASSIGN_OR_RETURN(jit::Module container, Container(parent));
    container.register_module(name, original.clone());
    leaves_.insert(path);
    return absl::OkStatus();
  }

  absl::Status AddTensor(const std::string& path) {
    if (InsideLeaf(path)) return absl::OkStatus();
    auto [parent, name] = ParentAndName(path);
    ASSIGN_OR_RETURN(jit::Module original, FindModule(model_, parent));
    const c10::ClassTypePtr& type = original.type();
    c10::optional<size_t> slot = type->findAttributeSlot(name);
    if (!slot.has_value() || !original._ivalue()->getSlot(*slot).isTensor()) {
      return absl::NotFoundError(absl::StrCat("model has no parameter or buffer '", path, "'"));
    }
    at::Tensor t = original._ivalue()->getSlot(*slot).toTensor();
    at::Tensor copy = t.detach().clone();
    copy.set_requires_grad(t.requires_grad());
    ASSIGN_OR_RETURN(jit::Module container, Container(parent));
    if (type->is_parameter(*slot)) {
      container.register_parameter(name, copy, /*is_buffer=*/false);
    } else {
      container.register_buffer(name, copy);
    }
    return absl::OkStatus();
  }

 private:
  static std::pair<std::string, std::string> ParentAndName(const std::string& path) {
    size_t dot = path.rfind('.');
    if (dot == std::string::npos) return {"", path};
    return {path.substr(0, dot), path.substr(dot + 1)};
  }

  // An empty module class of our own; like every nn.Module it has `training`.
  jit::Module NewModule(const std::string& name) {
    jit::Module m(c10::QualifiedName(name), cu_, /*shouldMangle=*/true);
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
  }

  bool InsideLeaf(const std::string& path) const {
    for (const std::string& leaf : leaves_) {
      if (path == leaf || absl::StartsWith(path, leaf + ".")) return true;
    }
    return false;
  }

  absl::StatusOr<jit::Module> Container(const std::string& path) {
    auto it = containers_.find(path);
    if (it != containers_.end()) return it->second;
    auto [parent_path, name] = ParentAndName(path);
    ASSIGN_OR_RETURN(jit::Module parent, Container(parent_path));
    jit::Module container = NewModule("__torch__.featx.Container");
    parent.register_module(name, container);
    containers_.emplace(path, container);
    return container;
  }

  const jit::Module& model_;
  std::shared_ptr<jit::CompilationUnit> cu_;
  jit::Module root_;
  std::map<std::string, jit::Module> containers_;
  std::set<std::string> leaves_;
};

c10::TypePtr InferType(const Argument& a) {
  switch (a.kind()) {
    case Argument::Kind::kBool:
      return c10::BoolType::get();
    case Argument::Kind::kInt:
      return c10::IntType::get();
    case Argument::Kind::kDouble:
      return c10::FloatType::get();
    case Argument::Kind::kString:
      return c10::StringType::get();
    case Argument::Kind::kDevice:
      return c10::DeviceObjType::get();
    case Argument::Kind::kList:
      return c10::ListType::create(a.elements().empty() ? c10::IntType::get()
                                                        : InferType(a.elements()[0]));
    default:
      return c10::NoneType::get();
  }
}

// A literal as an IValue of the type the callee expects (`expected` may be
// null or generic, then the literal's own type is used).
c10::IValue ToIValue(const Argument& a, c10::TypePtr expected) {
  if (expected != nullptr && expected->kind() == c10::TypeKind::OptionalType) {
    expected = expected->expectRef<c10::OptionalType>().getElementType();
  }
  switch (a.kind()) {
    case Argument::Kind::kNone:
    case Argument::Kind::kNode:
      return c10::IValue();
    case Argument::Kind::kBool:
      return a.bool_value();
    case Argument::Kind::kInt:
      if (expected != nullptr && expected->kind() == c10::TypeKind::FloatType) {
        return static_cast<double>(a.int_value());
      }
      return a.int_value();
    case Argument::Kind::kDouble:
      return a.double_value();
    case Argument::Kind::kString:
      return a.string_value();
    case Argument::Kind::kDevice:
      return c10::Device(a.string_value());
    case Argument::Kind::kList: {
      c10::TypePtr element = expected != nullptr && expected->kind() == c10::TypeKind::ListType
                                 ? expected->expectRef<c10::ListType>().getElementType()
                                 : InferType(a)->expectRef<c10::ListType>().getElementType();
      if (element->kind() == c10::TypeKind::NumberType && !a.elements().empty()) {
        element = InferType(a.elements()[0]);
      }
      c10::impl::GenericList list(element);
      for (const Argument& e : a.elements()) list.push_back(ToIValue(e, element));
      return list;
    }
    case Argument::Kind::kTuple: {
      std::vector<c10::IValue> elements;
      const c10::TupleType* tuple =
          expected != nullptr && expected->kind() == c10::TypeKind::TupleType
              ? &expected->expectRef<c10::TupleType>()
              : nullptr;
      for (size_t i = 0; i < a.elements().size(); ++i) {
        elements.push_back(ToIValue(
            a.elements()[i],
            tuple != nullptr && i < tuple->elements().size() ? tuple->elements()[i] : nullptr));
      }
      return c10::ivalue::Tuple::create(std::move(elements));
    }
  }
  return c10::IValue();
}

// Emits featx graphs into TorchScript blocks.
class Emitter {
 public:
  Emitter(jit::Graph& graph, jit::Value* self, std::shared_ptr<jit::CompilationUnit> cu)
      : graph_(graph), self_(self), cu_(std::move(cu)) {}

  // Emits `g` at the current insertion point; `inputs` are the values of its
  // placeholders. Returns the values of its output node.
  absl::StatusOr<std::vector<jit::Value*>> Emit(const Graph& g,
                                                const std::vector<jit::Value*>& inputs) {
    size_t next_input = 0;
    for (const auto& node : g.nodes()) {
      const Node& n = *node;
      if (n.op() == OpCode::kPlaceholder) {
        if (next_input >= inputs.size()) return absl::InternalError("too few graph inputs");
        values_[&n] = inputs[next_input++];
        continue;
      }
      if (n.op() == OpCode::kOutput) {
        std::vector<jit::Value*> results;
        for (const Argument& a : n.args()) {
          ASSIGN_OR_RETURN(jit::Value * v, ValueOf(a, nullptr));
          results.push_back(v);
        }
        return results;
      }
      absl::StatusOr<jit::Value*> v;
      try {
        v = EmitNode(n);
      } catch (const c10::Error& e) {
        v = absl::InternalError(e.what_without_backtrace());
      } catch (const std::exception& e) {  // jit::ErrorReport from schema matching
        v = absl::InternalError(e.what());
      }
      if (!v.ok()) {
        // The first non-empty line: schema-matching errors start with a newline.
        std::string what(v.status().message());
        std::vector<std::string> lines = absl::StrSplit(what, '\n', absl::SkipWhitespace());
        return absl::UnimplementedError(
            absl::StrCat("cannot rebuild node '", n.name(), "' (",
                         n.target().empty() ? OpCodeName(n.op()) : n.target(),
                         ") in TorchScript: ", lines.empty() ? "unknown error" : lines.front()));
      }
      values_[&n] = *v;
    }
    return absl::InternalError("graph has no output node");
  }

 private:
  absl::StatusOr<jit::Value*> ValueOf(const Argument& a, const c10::TypePtr& expected) {
    if (a.is_node()) {
      auto it = values_.find(a.node());
      if (it == values_.end()) return absl::InternalError("argument used before definition");
      return it->second;
    }
    if (a.IsLiteral()) return graph_.insertConstant(ToIValue(a, expected));
    // A list or tuple mixing literals and node values.
    c10::TypePtr type = expected;
    if (type != nullptr && type->kind() == c10::TypeKind::OptionalType) {
      type = type->expectRef<c10::OptionalType>().getElementType();
    }
    std::vector<jit::Value*> elements;
    if (a.kind() == Argument::Kind::kTuple) {
      for (const Argument& e : a.elements()) {
        ASSIGN_OR_RETURN(jit::Value * v, ValueOf(e, nullptr));
        elements.push_back(v);
      }
      return graph_.insertNode(graph_.createTuple(elements))->output();
    }
    c10::TypePtr element = type != nullptr && type->kind() == c10::TypeKind::ListType
                               ? type->expectRef<c10::ListType>().getElementType()
                               : nullptr;
    for (const Argument& e : a.elements()) {
      ASSIGN_OR_RETURN(jit::Value * v, ValueOf(e, element));
      elements.push_back(v);
    }
    // Unknown, Any, or a type variable ("t[]"): the elements say.
    if ((element == nullptr || element->kind() == c10::TypeKind::AnyType ||
         element->kind() == c10::TypeKind::VarType) &&
        !elements.empty()) {
      element = elements.front()->type();
    }
    return graph_.insertNode(graph_.createList(element, elements))->output();
  }

  // The node's arguments matched to `schema`'s parameters from `first_param`
  // on. TorchScript nodes hold every argument positionally; keyword-only
  // parameters (alpha of aten::add) must be passed by name to matchSchema.
  struct CallArgs {
    std::vector<jit::NamedValue> args;
    std::vector<jit::NamedValue> kwargs;
  };

  absl::StatusOr<CallArgs> NamedArgs(const Node& n, const c10::FunctionSchema& schema,
                                     size_t first_param) {
    CallArgs call;
    for (size_t i = 0; i < n.args().size(); ++i) {
      size_t p = i + first_param;
      const c10::Argument* param = p < schema.arguments().size() ? &schema.arguments()[p] : nullptr;
      ASSIGN_OR_RETURN(jit::Value * v,
                       ValueOf(n.args()[i], param != nullptr ? param->type() : nullptr));
      if (param != nullptr && param->kwarg_only()) {
        call.kwargs.emplace_back(param->name(), v);
      } else {
        call.args.emplace_back(v);
      }
    }
    return call;
  }

  jit::Value* ModuleValue(const std::string& path) {
    jit::Value* v = self_;
    for (const std::string& part : SplitPath(path)) v = graph_.insertGetAttr(v, part);
    return v;
  }

  // A node's value; several outputs are packed into a tuple, which getitem
  // nodes take apart, as the featx IR has one value per node.
  jit::Value* Pack(jit::Node* node) {
    if (node->outputs().size() == 1) return node->output();
    return graph_.insertNode(graph_.createTuple(node->outputs()))->output();
  }

  absl::StatusOr<jit::Value*> EmitNode(const Node& n) {
    switch (n.op()) {
      case OpCode::kGetAttr:
        return ModuleValue(n.target());
      case OpCode::kCallModule: {
        jit::Value* module = ModuleValue(n.target());
        const c10::ClassTypePtr& type = module->type()->expect<c10::ClassType>();
        // An overloaded forward (nn.LSTM's) is compiled to forward__0,
        // forward__1, ...: call the first overload the arguments match.
        std::vector<std::string> methods;
        for (int k = 0; type->findMethod("forward") == nullptr &&
                        type->findMethod(absl::StrCat("forward__", k)) != nullptr;
             ++k) {
          methods.push_back(absl::StrCat("forward__", k));
        }
        if (methods.empty()) methods.push_back("forward");
        for (size_t k = 0;; ++k) {
          const c10::FunctionSchema& schema = type->getMethod(methods[k]).getSchema();
          ASSIGN_OR_RETURN(CallArgs call, NamedArgs(n, schema, 1));
          call.args.insert(call.args.begin(), jit::NamedValue(module));
          try {
            jit::MatchedSchema matched =
                jit::matchSchema(schema, {}, graph_, call.args, call.kwargs);
            return graph_.insertMethodCall(methods[k], matched);
          } catch (const std::exception&) {
            if (k + 1 == methods.size()) throw;
          }
        }
      }
      case OpCode::kCallFunction:
        return n.IsOperator() ? EmitOperator(n) : EmitFunction(n);
      case OpCode::kIf:
        return EmitIf(n);
      case OpCode::kLoop:
        return EmitLoop(n);
      default:
        return absl::UnimplementedError(
            absl::StrCat(OpCodeName(n.op()), " nodes are not supported yet"));
    }
  }

  absl::StatusOr<jit::Value*> EmitFunction(const Node& n) {
    jit::Function* fn = cu_->find_function(c10::QualifiedName(n.target()));
    if (fn == nullptr) return absl::NotFoundError("function not found in the model");
    ASSIGN_OR_RETURN(CallArgs call, NamedArgs(n, fn->getSchema(), 0));
    jit::MatchedSchema matched =
        jit::matchSchema(fn->getSchema(), {}, graph_, call.args, call.kwargs);
    return graph_.insertFunctionCall(fn, matched);
  }

  absl::StatusOr<jit::Value*> EmitOperator(const Node& n) {
    c10::Symbol symbol = c10::Symbol::fromQualString(std::string(n.OperatorName()));
    if (symbol == c10::prim::TupleIndex) {
      ASSIGN_OR_RETURN(jit::Value * tuple, ValueOf(n.args()[0], nullptr));
      int64_t index = n.args()[1].int_value();
      const auto& elements = tuple->type()->expectRef<c10::TupleType>().elements();
      return graph_
          .insertNode(graph_.createTupleIndex(tuple, graph_.insertConstant(index), elements[index]))
          ->output();
    }
    if (symbol == c10::prim::DictConstruct) {
      // A dict the tracer kept structural (constant keys), needed at run time:
      // args are key, value, key, value, ...
      std::vector<jit::Value*> keys;
      std::vector<jit::Value*> values;
      for (size_t i = 0; i + 1 < n.args().size(); i += 2) {
        ASSIGN_OR_RETURN(jit::Value * key, ValueOf(n.args()[i], nullptr));
        ASSIGN_OR_RETURN(jit::Value * value, ValueOf(n.args()[i + 1], nullptr));
        keys.push_back(key);
        values.push_back(value);
      }
      c10::TypePtr key_type = keys.empty() ? c10::StringType::get() : keys[0]->type();
      c10::TypePtr value_type = c10::TensorType::get();
      if (!values.empty()) {
        value_type = values[0]->type();
        for (jit::Value* v : values) {
          c10::optional<c10::TypePtr> unified = c10::unifyTypes(value_type, v->type());
          if (!unified) return absl::UnimplementedError("a dict whose values have different types");
          value_type = *unified;
        }
      }
      return graph_.insertNode(graph_.createDict(key_type, value_type, keys, values))->output();
    }
    const c10::FunctionSchema* schema = nullptr;
    for (const std::shared_ptr<jit::Operator>& op : jit::getAllOperatorsFor(symbol)) {
      if (op->schema().overload_name() == n.OverloadName()) {
        schema = &op->schema();
        break;
      }
    }
    if (schema == nullptr) return absl::NotFoundError("no operator with this schema");
    ASSIGN_OR_RETURN(CallArgs call, NamedArgs(n, *schema, 0));
    jit::MatchedSchema matched = jit::matchSchema(*schema, {}, graph_, call.args, call.kwargs);
    jit::Node* node =
        graph_.insertNode(graph_.create(symbol, matched.inputs, matched.return_types.size()));
    for (size_t i = 0; i < matched.return_types.size(); ++i) {
      node->output(i)->setType(matched.return_types[i]);
    }
    if (node->maybeSchema() == nullptr) return absl::InternalError("overload did not resolve");
    return Pack(node);
  }

  // prim::Loop(trip_count, condition, carried...); the body's inputs are
  // (iteration, carried...) and its outputs (condition, carried...).
  absl::StatusOr<jit::Value*> EmitLoop(const Node& n) {
    std::vector<jit::Value*> inputs;
    ASSIGN_OR_RETURN(jit::Value * trips, ValueOf(n.args()[0], c10::IntType::get()));
    ASSIGN_OR_RETURN(jit::Value * cond, ValueOf(n.args()[1], c10::BoolType::get()));
    inputs = {trips, cond};
    for (size_t k = 2; k < n.args().size(); ++k) {
      ASSIGN_OR_RETURN(jit::Value * v, ValueOf(n.args()[k], nullptr));
      inputs.push_back(v);
    }
    size_t carried = inputs.size() - 2;
    jit::Node* loop = graph_.insertNode(graph_.create(c10::prim::Loop, inputs, carried));
    jit::Block* body = loop->addBlock();
    std::vector<jit::Value*> body_inputs = {body->addInput()->setType(c10::IntType::get())};
    for (size_t k = 0; k < carried; ++k) {
      body_inputs.push_back(body->addInput()->setType(inputs[k + 2]->type()));
      loop->output(k)->setType(inputs[k + 2]->type());
    }
    {
      jit::WithInsertPoint guard(body);
      ASSIGN_OR_RETURN(std::vector<jit::Value*> results, Emit(*n.blocks()[0], body_inputs));
      for (jit::Value* r : results) body->registerOutput(r);
    }
    if (carried == 0) return graph_.insertConstant(c10::IValue());
    return Pack(loop);
  }

  absl::StatusOr<jit::Value*> EmitIf(const Node& n) {
    ASSIGN_OR_RETURN(jit::Value * cond, ValueOf(n.args()[0], c10::BoolType::get()));
    jit::Node* node = graph_.insertNode(graph_.create(c10::prim::If, {cond}, 0));
    for (const auto& block : n.blocks()) {
      jit::Block* b = node->addBlock();
      jit::WithInsertPoint guard(b);
      ASSIGN_OR_RETURN(std::vector<jit::Value*> results, Emit(*block, {}));
      for (jit::Value* r : results) b->registerOutput(r);
    }
    // A branch that raises yields prim::Uninitialized (typed Any) for its
    // results; the other branch has the real types.
    jit::Block* then_block = node->blocks()[0];
    jit::Block* else_block = node->blocks()[1];
    for (size_t i = 0; i < then_block->outputs().size(); ++i) {
      c10::TypePtr a = then_block->outputs()[i]->type();
      c10::TypePtr b = else_block->outputs()[i]->type();
      c10::TypePtr type = a->kind() == c10::TypeKind::AnyType ? b : a;
      if (b->kind() != c10::TypeKind::AnyType && a->kind() != c10::TypeKind::AnyType) {
        c10::optional<c10::TypePtr> unified = c10::unifyTypes(a, b);
        if (unified.has_value()) type = *unified;
      }
      node->addOutput()->setType(type);
    }
    if (node->outputs().empty()) return graph_.insertConstant(c10::IValue());
    return Pack(node);
  }

  jit::Graph& graph_;
  jit::Value* self_;
  std::shared_ptr<jit::CompilationUnit> cu_;
  absl::flat_hash_map<const Node*, jit::Value*> values_;
};

// The leaf modules and tensors a graph uses.
void CollectAttributes(const Graph& g, std::set<std::string>& modules,
                       std::set<std::string>& tensors) {
  ForEachNodeRecursive(g, [&](Node* n) {
    if (n->op() == OpCode::kCallModule) modules.insert(n->target());
    if (n->op() == OpCode::kGetAttr) tensors.insert(n->target());
  });
}

bool HasPrefix(const std::set<std::string>& paths, const std::string& prefix) {
  auto it = paths.lower_bound(prefix);
  return it != paths.end() && absl::StartsWith(*it, prefix);
}

// Adds the needed modules and tensors in the model's own order (its slot
// order, depth first), so that named_parameters() and state_dict() list the
// extractor's entries in the order the model lists them, as torchvision's
// IntermediateLayerGetter does. Removes what it adds from the sets.
absl::Status AddInSourceOrder(const jit::Module& module, const std::string& prefix,
                              std::set<std::string>& modules, std::set<std::string>& tensors,
                              ModuleTree& tree) {
  const c10::ClassTypePtr& type = module.type();
  for (size_t slot = 0; slot < type->numAttributes(); ++slot) {
    std::string path = absl::StrCat(prefix, type->getAttributeName(slot));
    c10::IValue value = module._ivalue()->getSlot(slot);
    if (value.isModule() || value.isObject()) {
      if (modules.erase(path) > 0) {
        RETURN_IF_ERROR(tree.AddLeafModule(path));
      } else if (value.isModule() &&
                 (HasPrefix(modules, path + ".") || HasPrefix(tensors, path + "."))) {
        RETURN_IF_ERROR(AddInSourceOrder(value.toModule(), path + ".", modules, tensors, tree));
      }
    } else if (value.isTensor() && tensors.erase(path) > 0) {
      RETURN_IF_ERROR(tree.AddTensor(path));
    }
  }
  return absl::OkStatus();
}

absl::Status CollectAttributes(const jit::Module& model, const Graph& train, const Graph& eval,
                               ModuleTree& tree) {
  std::set<std::string> modules, tensors;
  CollectAttributes(train, modules, tensors);
  CollectAttributes(eval, modules, tensors);
  RETURN_IF_ERROR(AddInSourceOrder(model, "", modules, tensors, tree));
  // Whatever the walk did not find: AddLeafModule and AddTensor say why.
  for (const std::string& m : modules) RETURN_IF_ERROR(tree.AddLeafModule(m));
  for (const std::string& t : tensors) RETURN_IF_ERROR(tree.AddTensor(t));
  return absl::OkStatus();
}

// Returned values that are not tensors are flattened into the output dict at
// run time: a Dict[str, Tensor]'s entries under "key.subkey", a tuple's or
// list's under "key.0", "key.1", ... The loops come from TorchScript source,
// compiled once and inlined where the output dict is built.
absl::StatusOr<jit::Value*> FlattenOutputs(jit::Graph& graph, const std::vector<std::string>& keys,
                                           const std::vector<jit::Value*>& results) {
  static const auto* helpers = [] {
    auto cu = std::make_shared<jit::CompilationUnit>();
    cu->define(c10::nullopt, R"py(
def flatten_dict(out: Dict[str, Tensor], prefix: str, d: Dict[str, Tensor]):
    for k, v in d.items():
        out[prefix + "." + k] = v

def flatten_list(out: Dict[str, Tensor], prefix: str, xs: List[Tensor]):
    for i in range(len(xs)):
        out[prefix + "." + str(i)] = xs[i]
)py",
               jit::nativeResolver(), nullptr);
    return new std::shared_ptr<jit::CompilationUnit>(std::move(cu));
  }();
  auto inline_call = [&](const std::string& name, std::vector<jit::Value*> inputs) {
    jit::Function& fn = (*helpers)->get_function(name);
    jit::insertGraph(graph, *jit::toGraphFunction(fn).graph(), inputs);
  };
  jit::Value* out =
      graph.insertNode(graph.createDict(c10::StringType::get(), c10::TensorType::get(), {}, {}))
          ->output();
  for (size_t i = 0; i < results.size(); ++i) {
    jit::Value* v = results[i];
    jit::Value* key = graph.insertConstant(keys[i]);
    switch (v->type()->kind()) {
      case c10::TypeKind::TensorType:
        graph.insert(c10::aten::_set_item, {out, key, v});
        break;
      case c10::TypeKind::DictType:
        inline_call("flatten_dict", {out, key, v});
        break;
      case c10::TypeKind::ListType:
        inline_call("flatten_list", {out, key, v});
        break;
      case c10::TypeKind::TupleType: {
        const auto& elements = v->type()->expectRef<c10::TupleType>().elements();
        for (size_t k = 0; k < elements.size(); ++k) {
          jit::Value* item = graph
                                 .insertNode(graph.createTupleIndex(
                                     v, graph.insertConstant(static_cast<int64_t>(k)), elements[k]))
                                 ->output();
          graph.insert(c10::aten::_set_item,
                       {out, graph.insertConstant(absl::StrCat(keys[i], ".", k)), item});
        }
        break;
      }
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("output '", keys[i], "' is a ", v->type()->repr_str(), ", not a tensor"));
    }
  }
  return out;
}

absl::StatusOr<jit::Module> Build(const jit::Module& model, const ModeGraph& train,
                                  const ModeGraph& eval) {
  std::shared_ptr<jit::CompilationUnit> cu = model._ivalue()->compilation_unit();
  ModuleTree tree(model, cu);
  RETURN_IF_ERROR(CollectAttributes(model, *train.graph, *eval.graph, tree));
  jit::Module extractor = tree.root();

  auto graph = std::make_shared<jit::Graph>();
  jit::Value* self = graph->addInput("self")->setType(extractor.type());
  std::vector<jit::Value*> inputs;
  // Inputs have the model's own types and defaults (List[Tensor] for
  // torchvision's detection models; raft's `num_flow_updates: int = 12`), so
  // the extractor is called as the model is. Without a declared type: Tensor.
  const jit::Function* model_forward = model.type()->findMethod("forward");
  std::vector<c10::Argument> arguments = {c10::Argument("self", extractor.type())};
  for (const Node* p : eval.graph->Placeholders()) {
    c10::TypePtr type = c10::TensorType::get();
    c10::optional<c10::IValue> default_value;
    size_t k = inputs.size() + 1;  // after self
    if (model_forward != nullptr && k < model_forward->getSchema().arguments().size()) {
      const c10::Argument& declared = model_forward->getSchema().arguments()[k];
      type = declared.type();
      default_value = declared.default_value();
    }
    inputs.push_back(graph->addInput(p->target())->setType(type));
    arguments.emplace_back(p->target(), type, c10::nullopt, default_value);
  }
  jit::Value* training = graph->insertGetAttr(self, "training");
  jit::Node* branch = graph->insertNode(graph->create(c10::prim::If, {training}, 1));
  for (const ModeGraph* mode : {&train, &eval}) {
    jit::Block* block = branch->addBlock();
    jit::WithInsertPoint guard(block);
    Emitter emitter(*graph, self, cu);
    ASSIGN_OR_RETURN(std::vector<jit::Value*> results, emitter.Emit(*mode->graph, inputs));
    if (results.size() != mode->keys.size()) {
      return absl::InternalError("output count differs from key count");
    }
    bool all_tensors = true;
    for (jit::Value* r : results)
      all_tensors = all_tensors && r->type()->kind() == c10::TypeKind::TensorType;
    if (!all_tensors) {
      ASSIGN_OR_RETURN(jit::Value * flat, FlattenOutputs(*graph, mode->keys, results));
      block->registerOutput(flat);
      continue;
    }
    std::vector<jit::Value*> keys;
    for (const std::string& k : mode->keys) keys.push_back(graph->insertConstant(k));
    block->registerOutput(graph
                              ->insertNode(graph->createDict(c10::StringType::get(),
                                                             c10::TensorType::get(), keys, results))
                              ->output());
  }
  branch->output()->setType(c10::DictType::create(c10::StringType::get(), c10::TensorType::get()));
  graph->registerOutput(branch->output());
  graph->lint();

  jit::Function* forward =
      cu->create_function(c10::QualifiedName(*extractor.type()->name(), "forward"), graph);
  forward->setSchema(c10::FunctionSchema(
      "forward", "", std::move(arguments),
      {c10::Argument("", c10::DictType::create(c10::StringType::get(), c10::TensorType::get()))}));
  extractor.type()->addMethod(forward);
  extractor.train(model.is_training());
  return extractor;
}

}  // namespace

absl::StatusOr<torch::jit::Module> BuildTorchScriptExtractor(const torch::jit::Module& model,
                                                             const ModeGraph& train,
                                                             const ModeGraph& eval) {
  if (train.graph == nullptr || eval.graph == nullptr) {
    return absl::InvalidArgumentError("both a train and an eval graph are needed");
  }
  // Every node is emitted, as the C++ back end does: the same pass decided.
  RETURN_IF_ERROR(CheckNoDeadCode(*train.graph));
  RETURN_IF_ERROR(CheckNoDeadCode(*eval.graph));
  try {
    std::lock_guard<std::mutex> lock(CompilationUnitMutex());
    return Build(model, train, eval);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InternalError(absl::StrCat("building the TorchScript extractor failed: ",
                                            what.substr(0, what.find('\n'))));
  }
}

std::mutex& CompilationUnitMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

}  // namespace featx
