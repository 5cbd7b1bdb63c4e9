// Structural folding: TorchScript nodes FX records no node for. Lists,
// tuples and dicts built in forward stay Values (a list of nodes and
// constants) until a runtime value is needed (emit.cc materializes them);
// getitem, len, unpacking and dict reads on them are answered here; and
// operators on constants only are run now, as FX runs Python.

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "torch/csrc/jit/runtime/operator.h"
#include "tracer/from_c10.h"
#include "tracer/walker.h"

namespace featx {
namespace tracer_internal {

namespace {

const c10::Symbol kGet = c10::Symbol::fromQualString("aten::get");
const c10::Symbol kItems = c10::Symbol::fromQualString("aten::items");

}  // namespace

// Folders per node kind, tried in order (Tracer::Folder).
const absl::flat_hash_map<c10::unique_t, std::vector<Tracer::Folder>>& Tracer::Folders() {
  using T = Tracer;
  static const auto* folders = new absl::flat_hash_map<c10::unique_t, std::vector<T::Folder>>{
      {c10::prim::Uninitialized, {&T::FoldUninitialized}},
      {c10::aten::warn, {&T::SkipWarning}},
      {c10::prim::DictConstruct, {&T::FoldDictConstruct}},
      {c10::aten::dict, {&T::FoldDictConstruct}},
      {c10::aten::__getitem__, {&T::FoldDictOp, &T::FoldIndex}},
      {kGet, {&T::FoldDictOp}},
      {c10::aten::_set_item, {&T::FoldDictOp}},
      {c10::aten::__contains__, {&T::FoldDictOp}},
      {c10::aten::keys, {&T::FoldDictOp}},
      {c10::aten::values, {&T::FoldDictOp}},
      {kItems, {&T::FoldDictOp}},
      {c10::aten::len, {&T::FoldDictOp, &T::FoldListLen}},
      {c10::prim::ListConstruct, {&T::FoldConstruct}},
      {c10::prim::TupleConstruct, {&T::FoldConstruct}},
      {c10::prim::ListUnpack, {&T::FoldUnpack}},
      {c10::prim::TupleUnpack, {&T::FoldUnpack}},
      {c10::prim::TupleIndex, {&T::FoldIndex}},
      {c10::aten::append, {&T::FoldAppend}},
  };
  return *folders;
}

namespace {

std::optional<size_t> FindKey(const Value& dict, const c10::IValue& key) {
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    if (dict.keys[i].isString() && key.isString()
            ? dict.keys[i].toStringRef() == key.toStringRef()
            : dict.keys[i].isInt() && key.isInt() && dict.keys[i].toInt() == key.toInt()) {
      return i;
    }
  }
  return std::nullopt;
}

absl::Status SetDictItem(Value& dict, const c10::IValue& key, Value value) {
  if (!key.isString() && !key.isInt()) {
    return absl::UnimplementedError(
        absl::StrCat("a dict key of type ", key.tagKind(), " cannot be traced"));
  }
  std::optional<size_t> at = FindKey(dict, key);
  if (at.has_value()) {
    dict.elements[*at] = std::move(value);
  } else {
    dict.keys.push_back(key);
    dict.elements.push_back(std::move(value));
  }
  return absl::OkStatus();
}

}  // namespace

bool ContainsTensorType(const c10::TypePtr& type) {
  if (type->kind() == c10::TypeKind::TensorType) return true;
  for (const c10::TypePtr& t : type->containedTypes()) {
    if (ContainsTensorType(t)) return true;
  }
  return false;
}

bool AllConstant(const std::vector<Value>& values) {
  return std::all_of(values.begin(), values.end(), [](const Value& v) { return v.is_constant(); });
}

bool IsUninitialized(const Value& v) {
  return v.is_constant() && v.constant.tagKind() == "Uninitialized";
}

absl::StatusOr<bool> Tracer::FoldStructural(const jit::Node* node, std::vector<Value>& inputs,
                                            Env& env, const std::string& scope) {
  const auto& folders = Folders();
  auto it = folders.find(node->kind());
  if (it == folders.end()) return false;
  for (Folder folder : it->second) {
    ASSIGN_OR_RETURN(bool folded, (this->*folder)(node, inputs, env, scope));
    if (folded) return true;
  }
  return false;
}

// prim::Uninitialized, the value of a branch that raises; never used.
absl::StatusOr<bool> Tracer::FoldUninitialized(const jit::Node* node, std::vector<Value>&, Env& env,
                                               const std::string&) {
  env[node->output()] = Value::Constant(c10::IValue::uninitialized());
  return true;
}

// FX runs warnings.warn while tracing (googlenet warns only under
// TorchScript, in an `if torch.jit.is_scripting()` branch).
absl::StatusOr<bool> Tracer::SkipWarning(const jit::Node* node, std::vector<Value>&, Env&,
                                         const std::string&) {
  return node->outputs().empty();
}

absl::StatusOr<bool> Tracer::FoldConstruct(const jit::Node* node, std::vector<Value>& inputs,
                                           Env& env, const std::string&) {
  bool tuple = node->kind() == c10::prim::TupleConstruct;
  if (!AllConstant(inputs)) {
    Value list;
    list.kind = tuple ? Value::Kind::kTuple : Value::Kind::kList;
    list.elements = std::move(inputs);
    env[node->output()] = std::move(list);
    return true;
  }
  std::vector<c10::IValue> elements;
  for (const Value& v : inputs) elements.push_back(v.constant);
  if (tuple) {
    env[node->output()] = Value::Constant(c10::ivalue::Tuple::create(std::move(elements)));
  } else {
    c10::impl::GenericList list(
        node->output()->type()->expectRef<c10::ListType>().getElementType());
    for (c10::IValue& e : elements) list.push_back(std::move(e));
    env[node->output()] = Value::Constant(std::move(list));
  }
  return true;
}

absl::StatusOr<bool> Tracer::FoldUnpack(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                        const std::string& scope) {
  const Value& from = inputs[0];
  if (from.is_structural_sequence()) {
    if (from.elements.size() != node->outputs().size()) {
      return Unsupported(node, scope, "unpacking a list of the wrong length");
    }
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      env[node->outputs()[i]] = from.elements[i];
    }
    return true;
  }
  if (from.is_constant()) {
    std::vector<c10::IValue> elements = from.constant.isList()
                                            ? from.constant.toListRef().vec()
                                            : from.constant.toTupleRef().elements().vec();
    if (elements.size() != node->outputs().size()) {
      return Unsupported(
          node, scope,
          absl::StrCat("unpacking a constant of length ", elements.size(), " into ",
                       node->outputs().size(), " values: ", from.constant.tagKind()));
    }
    for (size_t i = 0; i < elements.size(); ++i) {
      env[node->outputs()[i]] = Value::Constant(elements[i]);
    }
    return true;
  }
  if (from.kind != Value::Kind::kNode) {
    RETURN_IF_ERROR(Fold(node, inputs, env, scope));
    return true;
  }
  // Taking apart a node's value: one getitem per element, as FX does.
  for (size_t i = 0; i < node->outputs().size(); ++i) {
    env[node->outputs()[i]] = Value::OfNode(GetItem(from.node, i, node, scope));
  }
  return true;
}

// prim::TupleIndex and aten::__getitem__ of a structural list or tuple.
absl::StatusOr<bool> Tracer::FoldIndex(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                       const std::string& scope) {
  if (!inputs[0].is_structural_sequence() || !inputs[1].is_constant()) return false;
  int64_t i = inputs[1].constant.toInt();
  int64_t n = static_cast<int64_t>(inputs[0].elements.size());
  if (i < -n || i >= n) return Unsupported(node, scope, "index out of range");
  env[node->output()] = inputs[0].elements[i < 0 ? i + n : i];
  return true;
}

// A list comprehension builds its list with append: the list stays
// structural and grows in the environment (lists are mutable in
// TorchScript, so every later use of the list value sees the element).
// Inside a data-dependent branch or loop the append may not happen: the list
// is materialized instead (MaterializeMutatedLists).
absl::StatusOr<bool> Tracer::FoldAppend(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                        const std::string&) {
  bool structural = inputs[0].kind == Value::Kind::kList ||
                    (inputs[0].is_constant() && inputs[0].constant.isList());
  if (graph_ != call_graph_ || !structural) return false;
  Value list = inputs[0];
  if (list.is_constant()) {
    std::vector<c10::IValue> elements = list.constant.toListRef().vec();
    list = Value();
    list.kind = Value::Kind::kList;
    for (c10::IValue& e : elements) list.elements.push_back(Value::Constant(std::move(e)));
  }
  list.elements.push_back(inputs[1]);
  env[node->input(0)] = list;
  env[node->output()] = list;
  return true;
}

absl::StatusOr<bool> Tracer::FoldListLen(const jit::Node* node, std::vector<Value>& inputs,
                                         Env& env, const std::string&) {
  if (inputs[0].kind != Value::Kind::kList) return false;
  env[node->output()] = Value::Constant(static_cast<int64_t>(inputs[0].elements.size()));
  return true;
}

// Dicts with constant keys (IntermediateLayerGetter, segmentation heads'
// result["out"] = x): FX builds them in Python. Like lists, they stay
// structural; a dict is made a prim::DictConstruct node only where a runtime
// value is needed (MaterializeDict).
absl::StatusOr<bool> Tracer::FoldDictConstruct(const jit::Node* node, std::vector<Value>& inputs,
                                               Env& env, const std::string&) {
  if (node->kind() == c10::aten::dict && !inputs.empty()) return false;
  if (CanFold(node, inputs)) return false;
  Value dict;
  dict.kind = Value::Kind::kDict;
  dict.dict_type = TypeFromC10(node->output()->type());
  for (size_t i = 0; i + 1 < inputs.size(); i += 2) {
    if (!inputs[i].is_constant()) return false;
    RETURN_IF_ERROR(SetDictItem(dict, inputs[i].constant, inputs[i + 1]));
  }
  env[node->output()] = std::move(dict);
  return true;
}

// An operation on a structural dict, or a runtime value written into a
// constant dict (which makes it structural). Anything else takes a runtime
// dict (ToArg materializes it).
absl::StatusOr<bool> Tracer::FoldDictOp(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                        const std::string& scope) {
  const c10::Symbol kind = node->kind();
  if (inputs.empty() || !node->input(0)->type()->cast<c10::DictType>()) return false;
  Value& dict = inputs[0];
  if (dict.kind != Value::Kind::kDict &&
      !(dict.is_constant() && dict.constant.isGenericDict() && kind == c10::aten::_set_item &&
        !inputs[2].is_constant())) {
    return false;
  }
  if (dict.is_constant()) {
    Value structural;
    structural.kind = Value::Kind::kDict;
    structural.dict_type = TypeFromC10(node->input(0)->type());
    for (const auto& entry : dict.constant.toGenericDict()) {
      RETURN_IF_ERROR(SetDictItem(structural, entry.key(), Value::Constant(entry.value())));
    }
    dict = std::move(structural);
  }
  if (kind != c10::aten::_set_item) return FoldDictRead(node, inputs, env, scope);
  if (!inputs[1].is_constant()) return false;
  if (graph_ != call_graph_) {
    return Unsupported(node, scope,
                       "writing into a dict inside a branch or loop that depends on the input");
  }
  RETURN_IF_ERROR(SetDictItem(dict, inputs[1].constant, inputs[2]));
  env[node->input(0)] = dict;
  return true;
}

// __getitem__, get, __contains__, len, keys, values and items of a
// structural dict.
absl::StatusOr<bool> Tracer::FoldDictRead(const jit::Node* node, std::vector<Value>& inputs,
                                          Env& env, const std::string& scope) {
  const c10::Symbol kind = node->kind();
  const Value& dict = inputs[0];
  if (kind == c10::aten::__getitem__ || kind == kGet) {
    if (!inputs[1].is_constant()) return false;
    std::optional<size_t> at = FindKey(dict, inputs[1].constant);
    if (at.has_value()) {
      env[node->output()] = dict.elements[*at];
    } else if (kind == kGet) {
      env[node->output()] = inputs.size() > 2 ? inputs[2] : Value::Constant(c10::IValue());
    } else {
      return Unsupported(node, scope, "reading a key the dict does not have");
    }
    return true;
  }
  if (kind == c10::aten::__contains__) {
    if (!inputs[1].is_constant()) return false;
    env[node->output()] = Value::Constant(FindKey(dict, inputs[1].constant).has_value());
    return true;
  }
  if (kind == c10::aten::len) {
    env[node->output()] = Value::Constant(static_cast<int64_t>(dict.keys.size()));
    return true;
  }
  Value list;  // keys, values or items
  list.kind = Value::Kind::kList;
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    if (kind == c10::aten::keys) {
      list.elements.push_back(Value::Constant(dict.keys[i]));
    } else if (kind == c10::aten::values) {
      list.elements.push_back(dict.elements[i]);
    } else {
      Value pair;
      pair.kind = Value::Kind::kTuple;
      pair.elements = {Value::Constant(dict.keys[i]), dict.elements[i]};
      list.elements.push_back(std::move(pair));
    }
  }
  env[node->output()] = std::move(list);
  return true;
}

bool Tracer::CanFold(const jit::Node* node, const std::vector<Value>& inputs) {
  if (!AllConstant(inputs) || !node->blocks().empty()) return false;
  if (node->hasSideEffects() || node->isNondeterministic()) return false;
  if (node->kind() == c10::prim::RaiseException || node->kind() == c10::aten::warn) {
    return false;
  }
  for (const jit::Value* out : node->outputs()) {
    if (ContainsTensorType(out->type())) return false;
  }
  return true;
}

// Runs the operator on constant inputs. An operator that throws here (a
// check that fails on these constants, a value its implementation does not
// expect) stays a runtime node instead, so that the extractor fails, or not,
// where the model would.
absl::Status Tracer::Fold(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                          const std::string& scope) {
  for (const Value& v : inputs) {
    if (IsUninitialized(v)) {
      // Only code after a `raise` or an early return reads such a value, and
      // WalkBlock stops there; evaluating it would trip LibTorch's internal
      // asserts.
      return Unsupported(node, scope,
                         "it reads a value that is only defined on a path that raises or "
                         "returns early");
    }
  }
  jit::Stack stack;
  for (const Value& v : inputs) stack.push_back(v.constant);
  bool folded = true;
  try {
    // The interpreter passes a vararg operator (aten::format) its input count.
    if (node->maybeSchema() != nullptr && node->maybeSchema()->is_vararg() &&
        node->getOperator().hasOperation()) {
      stack.push_back(static_cast<int64_t>(inputs.size()));
    }
    jit::Operation op = node->getOperation();
    op(stack);
  } catch (const std::exception& e) {
    folded = false;
  }
  if (!folded || stack.size() != node->outputs().size()) {
    if (!node->outputs().empty() && node->maybeSchema() != nullptr) {
      return AddOperator(node, inputs, env, scope);
    }
    return Unsupported(node, scope, "evaluating it on constants failed");
  }
  for (size_t i = 0; i < stack.size(); ++i) {
    env[node->outputs()[i]] = Value::Constant(std::move(stack[i]));
  }
  return absl::OkStatus();
}

}  // namespace tracer_internal
}  // namespace featx
