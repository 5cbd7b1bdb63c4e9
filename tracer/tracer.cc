#include "tracer/tracer.h"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "base/status_macros.h"
#include "torch/csrc/jit/api/function_impl.h"
#include "torch/csrc/jit/ir/ir.h"
#include "torch/csrc/jit/runtime/operator.h"
#include "tracer/ops_subclasses.h"

namespace featx {

namespace {

namespace jit = ::torch::jit;
using ObjectPtr = c10::intrusive_ptr<c10::ivalue::Object>;

// Unrolling stops here; a bigger constant loop stays a `loop` node.
constexpr int64_t kMaxUnrolledIterations = 4096;

// What a TorchScript value stands for during the walk.
struct Value {
  enum class Kind { kConstant, kNode, kList, kTuple, kModule, kFunction, kDict };
  Kind kind = Kind::kConstant;
  c10::IValue constant;               // kConstant
  Node* node = nullptr;               // kNode
  std::vector<Value> elements;        // kList, kTuple: some element is not constant; kDict: values
  std::vector<c10::IValue> keys;      // kDict: constant keys, in insertion order
  std::string dict_type;              // kDict: "Dict[str, Tensor]"
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
};

std::string Location(const jit::Node* node) {
  // The user's Python source when the archive records it, else the
  // serialized TorchScript code.
  c10::optional<jit::SourceRange> original = node->sourceRange().findSourceRangeThatGenerated();
  auto flc = (original.has_value() ? *original : node->sourceRange()).file_line_col();
  if (!flc.has_value()) flc = node->sourceRange().file_line_col();
  if (!flc.has_value()) return "";
  const auto& [file, line, col] = *flc;
  std::vector<std::string> parts = absl::StrSplit(file, '/');
  return absl::StrCat(parts.back(), ":", line, ":", col);
}

// ---- How FX would have recorded a node: what the source text tells.
//
// FX records Python syntax; TorchScript records operators. Where the two
// spellings give different names, the node's source text (kept in every saved
// TorchScript file) tells which syntax made it.

// "forward", or one overload of an overloaded forward: TorchScript compiles
// @torch.jit._overload_method forwards (nn.LSTM, densenet's _DenseLayer) into methods "forward__0",
// "forward__1".
bool IsForward(absl::string_view method) {
  if (method == "forward") return true;
  if (!absl::ConsumePrefix(&method, "forward__") || method.empty()) return false;
  return std::all_of(method.begin(), method.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Positions of `text` at bracket depth 0, outside string literals.
std::vector<size_t> TopLevelPositions(absl::string_view text) {
  std::vector<size_t> positions;
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '"' || c == '\'')
      quote = c;
    else if (c == '(' || c == '[' || c == '{')
      ++depth;
    else if (c == ')' || c == ']' || c == '}')
      --depth;
    else if (depth == 0)
      positions.push_back(i);
  }
  return positions;
}

// `y += x` is operator.add in FX (a Proxy has no __iadd__, so Python falls
// back to __add__), while TorchScript writes aten::add_. Returns the operator
// module's name for an augmented assignment statement, else "".
std::string AugmentedAssignmentOp(absl::string_view text) {
  static constexpr std::pair<absl::string_view, absl::string_view> kOps[] = {
      {"**=", "pow"}, {"//=", "floordiv"}, {"<<=", "lshift"}, {">>=", "rshift"}, {"+=", "add"},
      {"-=", "sub"},  {"*=", "mul"},       {"/=", "truediv"}, {"%=", "mod"},     {"&=", "and_"},
      {"|=", "or_"},  {"^=", "xor"},       {"@=", "matmul"}};
  for (size_t i : TopLevelPositions(text)) {
    for (const auto& [symbol, name] : kOps) {
      if (text.substr(i, symbol.size()) == symbol) return std::string(name);
    }
    if (text[i] == '=') return "";  // a plain assignment or a comparison
  }
  return "";
}

// True if `text` has a subscript at bracket depth 0: `x[0]`, `x.shape[-2:]`.
bool HasTopLevelSubscript(absl::string_view text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '[' && depth == 0 && i > 0) return true;
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
  }
  return false;
}

// TorchScript defines some tensor properties as builtin functions in its own
// source ("def shape(a : Tensor) -> List[int]: return a.size()", "def
// ndim(a : Tensor) -> int: return a.dim()"); FX reads them as attributes.
bool FromBuiltinProperty(const jit::SourceRange& range) {
  const std::shared_ptr<jit::Source>& source = range.source();
  if (source == nullptr || source->text_str().size() > 4096) return false;
  const c10::optional<std::string>& file = source->filename();
  if (file.has_value() && *file != "<string>") return false;
  std::string all = source->text_str().str();
  size_t def = all.rfind("def ", range.start());
  if (def == std::string::npos) return false;
  absl::string_view name = absl::string_view(all).substr(def + 4);
  name = name.substr(0, name.find('('));
  return name == "shape" || name == "ndim" || name == "T" || name == "H" || name == "mT" ||
         name == "mH";
}

// The op part of the name FX gives the value `node` computes, where it
// differs from the operator's own name; "" otherwise.
//
// Only the start of a recorded range is reliable: its end may stop short
// ("x.shape[-2:" for `x.shape[-2:]`, "x.dim" for `x.dim()`), so the rules
// below look for what a range begins with or contains, never how it ends.
std::string FxOpFromSource(const jit::Node* node) {
  c10::Symbol kind = node->kind();
  // Tensor attributes TorchScript reads with an operator of their own.
  if (kind == c10::prim::dtype || kind == c10::prim::device || kind == c10::prim::layout ||
      kind == c10::prim::requires_grad || kind == c10::prim::is_cuda) {
    return "getattr";
  }
  // A loaded module's node points into the serialized code (code/__torch__.py),
  // which in turn records the range of the original Python source.
  c10::optional<jit::SourceRange> original = node->sourceRange().findSourceRangeThatGenerated();
  if (!original.has_value()) return "";
  const jit::SourceRange& range = *original;
  if (range.source() == nullptr || range.size() == 0 || range.size() > 2048) return "";
  std::string text = range.text().str();
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (kind == c10::aten::size && node->inputs().size() == 1) {
    if (FromBuiltinProperty(range) || absl::StrContains(trimmed, ".shape")) return "getattr";
    return "";
  }
  if (kind == c10::aten::dim && FromBuiltinProperty(range)) return "getattr";
  if (kind == c10::aten::slice || kind == c10::aten::select || kind == c10::aten::index ||
      kind == c10::aten::__getitem__) {
    return HasTopLevelSubscript(trimmed) ? "getitem" : "";
  }
  if (std::string op = AugmentedAssignmentOp(trimmed); !op.empty()) return op;
  // Python operators whose operator-module name differs from ATen's.
  std::vector<size_t> top = TopLevelPositions(trimmed);
  auto has_top_level = [&](absl::string_view symbol, char not_followed_by) {
    for (size_t i : top) {
      if (trimmed.substr(i, symbol.size()) != symbol) continue;
      if (i > 0 && trimmed[i - 1] == symbol[0]) continue;  // "//" is not "/"
      size_t next = i + symbol.size();
      if (not_followed_by != 0 && next < trimmed.size() && trimmed[next] == not_followed_by) {
        continue;
      }
      return true;
    }
    return false;
  };
  if (kind == c10::aten::div && has_top_level("/", '/')) return "truediv";
  if ((kind == c10::aten::floor_divide || kind == c10::aten::floordiv) && has_top_level("//", 0)) {
    return "floordiv";
  }
  if ((kind == c10::aten::remainder || kind == c10::aten::fmod) && has_top_level("%", 0)) {
    return "mod";
  }
  if (kind == c10::aten::bitwise_not && absl::StartsWith(trimmed, "~")) return "invert";
  return "";
}

std::string TypeString(const c10::TypePtr& type) {
  if (type->kind() == c10::TypeKind::TensorType) return "Tensor";
  return type->annotation_str();
}

// Leaf classes and functions known to return a new tensor, never their input
// or a view of it (unless asked to work in place, which `inplace` records).
// Any other leaf may hand back its input: Identity, Flatten and Permute (views),
// Dropout and StochasticDepth in eval mode. Their result is then assumed to
// alias their first argument, so that pruning protects returned values from
// in-place writes through it (efficientnet's `result += input` after an eval
// StochasticDepth writes into the block's last output).
constexpr absl::string_view kFreshModules[] = {
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Linear",
    "Bilinear",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "SyncBatchNorm",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LocalResponseNorm",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "Embedding",
    "EmbeddingBag",
    "MultiheadAttention",
    "Softmax",
    "LogSoftmax",
    "ReLU",
    "ReLU6",
    "GELU",
    "SiLU",
    "Hardswish",
    "Hardsigmoid",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "ELU",
    "Mish",
    "Softplus",
    "PReLU",
    "Conv2dNormActivation",
    "Conv3dNormActivation",
    "SqueezeExcitation",
    "MLP",
    "FrozenBatchNorm2d",
};
constexpr absl::string_view kFreshFunctions[] = {
    "relu",
    "relu6",
    "gelu",
    "silu",
    "hardswish",
    "hardsigmoid",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "elu",
    "mish",
    "softplus",
    "softmax",
    "log_softmax",
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "batch_norm",
    "layer_norm",
    "group_norm",
    "adaptive_avg_pool2d",
    "max_pool2d",
    "avg_pool2d",
    "interpolate",
    "pad",
    "shifted_window_attention",
    "_get_relative_position_bias",
    "_patch_merging_pad",
};

bool IsIn(absl::string_view name, absl::Span<const absl::string_view> list) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

absl::string_view ShortName(absl::string_view qualified) {
  size_t dot = qualified.rfind('.');
  return dot == absl::string_view::npos ? qualified : qualified.substr(dot + 1);
}

// "aten::add.Tensor" for an operator node with a schema.
std::string OperatorTarget(const jit::Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  if (schema == nullptr) return node->kind().toQualString();
  if (schema->overload_name().empty()) return schema->name();
  return absl::StrCat(schema->name(), ".", schema->overload_name());
}

bool ContainsTensorType(const c10::TypePtr& type) {
  if (type->kind() == c10::TypeKind::TensorType) return true;
  for (const c10::TypePtr& t : type->containedTypes()) {
    if (ContainsTensorType(t)) return true;
  }
  return false;
}

absl::StatusOr<Argument> ToArgument(const c10::IValue& v);

absl::StatusOr<Argument> ListToArgument(const std::vector<c10::IValue>& values, bool tuple) {
  std::vector<Argument> elements;
  elements.reserve(values.size());
  for (const c10::IValue& e : values) {
    ASSIGN_OR_RETURN(Argument a, ToArgument(e));
    elements.push_back(std::move(a));
  }
  return tuple ? Argument::Tuple(std::move(elements)) : Argument::List(std::move(elements));
}

absl::StatusOr<Argument> ToArgument(const c10::IValue& v) {
  if (v.isNone() || v.tagKind() == "Uninitialized") return Argument::None();
  if (v.isBool()) return Argument::Bool(v.toBool());
  if (v.isInt()) return Argument::Int(v.toInt());
  if (v.isDouble()) return Argument::Double(v.toDouble());
  if (v.isString()) return Argument::String(v.toStringRef());
  if (v.isDevice()) return Argument::Device(v.toDevice().str());
  if (v.isList()) return ListToArgument(v.toListRef().vec(), /*tuple=*/false);
  if (v.isTuple()) return ListToArgument(v.toTupleRef().elements().vec(), /*tuple=*/true);
  return absl::UnimplementedError(
      absl::StrCat("a constant of type ", v.tagKind(), " cannot be an argument"));
}

class Tracer {
 public:
  Tracer(Mode mode, const TraceOptions& options) : mode_(mode), options_(options) {}

  absl::StatusOr<std::unique_ptr<Graph>> Run(const jit::Module& module) {
    auto graph = std::make_unique<Graph>();
    graph_ = graph.get();
    ObjectPtr root = module._ivalue();
    jit::Function& forward = root->type()->getMethod("forward");
    std::shared_ptr<jit::Graph> ts = jit::toGraphFunction(forward).graph();
    std::vector<Value> inputs;
    Value self;
    self.kind = Value::Kind::kModule;
    self.module = root;
    inputs.push_back(self);
    for (size_t i = 1; i < ts->inputs().size(); ++i) {
      const jit::Value* in = ts->inputs()[i];
      std::string name = in->hasDebugName() ? in->debugNameBase() : absl::StrCat("input_", i);
      Node* p = graph->Append(
          {.op = OpCode::kPlaceholder, .target = std::move(name), .type = TypeString(in->type())});
      inputs.push_back(Value::OfNode(p));
    }
    ASSIGN_OR_RETURN(std::vector<Value> outputs, Call(*ts, std::move(inputs), ""));
    std::vector<Argument> results;
    for (const Value& v : outputs) {
      ASSIGN_OR_RETURN(Argument a, ToArg(v));
      results.push_back(std::move(a));
    }
    graph->Append({.op = OpCode::kOutput, .args = std::move(results), .type = ""});
    return graph;
  }

 private:
  using Env = absl::flat_hash_map<const jit::Value*, Value>;

  // Walks a TorchScript graph (a method or function body) with the given input
  // values, in `scope`. Returns the values it returns.
  absl::StatusOr<std::vector<Value>> Call(const jit::Graph& ts, std::vector<Value> inputs,
                                          const std::string& scope) {
    Env env;
    for (size_t i = 0; i < inputs.size() && i < ts.inputs().size(); ++i) {
      env[ts.inputs()[i]] = std::move(inputs[i]);
    }
    Graph* saved = call_graph_;
    call_graph_ = graph_;
    absl::StatusOr<std::vector<Value>> result = WalkBlock(*ts.block(), env, scope);
    call_graph_ = saved;
    return result;
  }

  // An op that writes a list in place (shift_size[0] = 0) must not be folded:
  // it may sit in a branch that only the input decides. The list becomes a
  // runtime value first, made where the function begins so that code after
  // the branch sees the same list.
  absl::Status MaterializeMutatedLists(const jit::Node* node, std::vector<Value>& inputs, Env& env,
                                       const std::string& scope) {
    const c10::FunctionSchema* schema = node->maybeSchema();
    if (schema == nullptr) return absl::OkStatus();
    for (size_t i = 0; i < schema->arguments().size() && i < inputs.size(); ++i) {
      const auto* alias = schema->arguments()[i].alias_info();
      if (alias == nullptr || !alias->isWrite()) continue;
      if (inputs[i].kind != Value::Kind::kConstant && inputs[i].kind != Value::Kind::kList) {
        continue;
      }
      if (!node->input(i)->type()->cast<c10::ListType>()) {
        return Unsupported(node, scope, "writing in place into a constant that is not a list");
      }
      ASSIGN_OR_RETURN(Argument literal, ToArg(inputs[i]));
      NodeInit init{.target = "aten::list.t",
                    .args = {std::move(literal)},
                    .type = TypeString(node->input(i)->type()),
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

  absl::StatusOr<std::vector<Value>> WalkBlock(const jit::Block& block, Env& env,
                                               const std::string& scope) {
    for (const jit::Node* node : block.nodes()) {
      absl::Status s = WalkNode(node, env, scope);
      if (!s.ok()) return s;
      if (node->kind() == c10::prim::RaiseException) raised_ = true;
      // Nothing after a raise that always happens here runs. TorchScript
      // still lists that code, reading prim::Uninitialized values (its
      // lowering of `raise` and early `return`); it is not walked, and the
      // block's results are Uninitialized, as TorchScript's are.
      if (raised_) break;
    }
    std::vector<Value> outputs;
    for (const jit::Value* v : block.outputs()) {
      auto it = env.find(v);
      outputs.push_back(it != env.end() ? it->second
                                        : Value::Constant(c10::IValue::uninitialized()));
    }
    return outputs;
  }

  absl::Status Unsupported(const jit::Node* node, const std::string& scope, absl::string_view why) {
    std::string loc = Location(node);
    return absl::UnimplementedError(absl::StrCat("cannot trace ", node->kind().toQualString(),
                                                 loc.empty() ? "" : " at ", loc, " in module '",
                                                 scope.empty() ? "<root>" : scope, "': ", why));
  }

  absl::Status WalkNode(const jit::Node* node, Env& env, const std::string& scope) {
    const c10::Symbol kind = node->kind();
    if (kind == c10::prim::Constant) {
      const c10::TypePtr& type = node->output()->type();
      if (type->kind() == c10::TypeKind::FunctionType) {
        Value f;
        f.kind = Value::Kind::kFunction;
        f.function = type->expectRef<c10::FunctionType>().function();
        env[node->output()] = std::move(f);
      } else {
        env[node->output()] = Value::Constant(jit::toIValue(node->output()).value());
      }
      return absl::OkStatus();
    }
    if (kind == c10::prim::GetAttr) return GetAttr(node, env, scope);
    if (kind == c10::prim::CallMethod) return CallMethod(node, env, scope);
    if (kind == c10::prim::CallFunction) return CallFunction(node, env, scope);
    if (kind == c10::prim::If) return If(node, env, scope);
    if (kind == c10::prim::Loop) return Loop(node, env, scope);
    if (kind == c10::prim::SetAttr) return SetAttr(node, env, scope);
    if (kind == c10::prim::unchecked_cast) {
      env[node->output()] = env.at(node->input());
      return absl::OkStatus();
    }
    std::vector<Value> inputs;
    inputs.reserve(node->inputs().size());
    for (const jit::Value* in : node->inputs()) inputs.push_back(env.at(in));
    ASSIGN_OR_RETURN(bool walked, WalkWithoutFxNode(node, inputs, env, scope));
    if (walked) return absl::OkStatus();
    if (kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct) {
      if (AllConstant(inputs)) {
        std::vector<c10::IValue> elements;
        for (const Value& v : inputs) elements.push_back(v.constant);
        if (kind == c10::prim::TupleConstruct) {
          env[node->output()] = Value::Constant(c10::ivalue::Tuple::create(std::move(elements)));
        } else {
          c10::impl::GenericList list(
              node->output()->type()->expectRef<c10::ListType>().getElementType());
          for (c10::IValue& e : elements) list.push_back(std::move(e));
          env[node->output()] = Value::Constant(std::move(list));
        }
        return absl::OkStatus();
      } else {
        Value list;
        list.kind = kind == c10::prim::ListConstruct ? Value::Kind::kList : Value::Kind::kTuple;
        list.elements = std::move(inputs);
        env[node->output()] = std::move(list);
        return absl::OkStatus();
      }
    }
    if ((kind == c10::prim::ListUnpack || kind == c10::prim::TupleUnpack) &&
        (inputs[0].kind == Value::Kind::kList || inputs[0].kind == Value::Kind::kTuple)) {
      if (inputs[0].elements.size() != node->outputs().size()) {
        return Unsupported(node, scope, "unpacking a list of the wrong length");
      }
      for (size_t i = 0; i < node->outputs().size(); ++i) {
        env[node->outputs()[i]] = inputs[0].elements[i];
      }
      return absl::OkStatus();
    }
    if ((kind == c10::prim::TupleIndex || kind == c10::aten::__getitem__) &&
        (inputs[0].kind == Value::Kind::kList || inputs[0].kind == Value::Kind::kTuple) &&
        inputs[1].is_constant()) {
      int64_t i = inputs[1].constant.toInt();
      int64_t n = static_cast<int64_t>(inputs[0].elements.size());
      if (i < -n || i >= n) return Unsupported(node, scope, "index out of range");
      env[node->output()] = inputs[0].elements[i < 0 ? i + n : i];
      return absl::OkStatus();
    }
    // Inside a data-dependent branch or loop the append may not happen: the
    // list is materialized below instead (MaterializeMutatedLists).
    if (kind == c10::aten::append && graph_ == call_graph_ &&
        (inputs[0].kind == Value::Kind::kList ||
         (inputs[0].is_constant() && inputs[0].constant.isList()))) {
      // A list comprehension builds its list with append: keep the list
      // structural and grow it in the environment (lists are mutable in
      // TorchScript, so every later use of the list value sees the element).
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
      return absl::OkStatus();
    }
    if (kind == c10::aten::len && inputs[0].kind == Value::Kind::kList) {
      env[node->output()] = Value::Constant(static_cast<int64_t>(inputs[0].elements.size()));
      return absl::OkStatus();
    }
    if (kind == c10::prim::ListUnpack || kind == c10::prim::TupleUnpack) {
      if (inputs[0].is_constant()) {
        std::vector<c10::IValue> elements = inputs[0].constant.isList()
                                                ? inputs[0].constant.toListRef().vec()
                                                : inputs[0].constant.toTupleRef().elements().vec();
        if (elements.size() != node->outputs().size()) {
          return Unsupported(
              node, scope,
              absl::StrCat("unpacking a constant of length ", elements.size(), " into ",
                           node->outputs().size(), " values: ", inputs[0].constant.tagKind()));
        }
        for (size_t i = 0; i < elements.size(); ++i) {
          env[node->outputs()[i]] = Value::Constant(elements[i]);
        }
        return absl::OkStatus();
      }
      // Taking apart a node's value: one getitem per element, as FX does.
      if (inputs[0].kind != Value::Kind::kNode) {
        return Fold(node, inputs, env, scope);
      }
      for (size_t i = 0; i < node->outputs().size(); ++i) {
        env[node->outputs()[i]] = Value::OfNode(GetItem(inputs[0].node, i, node, scope));
      }
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(MaterializeMutatedLists(node, inputs, env, scope));
    if (CanFold(node, inputs)) return Fold(node, inputs, env, scope);
    return AddOperator(node, inputs, env, scope);
  }

  static bool IsUninitialized(const Value& v) {
    return v.is_constant() && v.constant.tagKind() == "Uninitialized";
  }

  // Walks TorchScript nodes that FX records no node for. Returns true if
  // `node` was one:
  //   - prim::Uninitialized, the value of a branch that raises; never used.
  //   - aten::warn: FX runs warnings.warn while tracing (googlenet warns only
  //     under TorchScript, in an `if torch.jit.is_scripting()` branch).
  //   - dicts with constant keys (IntermediateLayerGetter, segmentation heads'
  //     result["out"] = x): FX builds them in Python. Like lists, they stay
  //     structural; a dict is made a prim::DictConstruct node only where a
  //     runtime value is needed (MaterializeDict).
  absl::StatusOr<bool> WalkWithoutFxNode(const jit::Node* node, std::vector<Value>& inputs,
                                         Env& env, const std::string& scope) {
    const c10::Symbol kind = node->kind();
    static const c10::Symbol kGet = c10::Symbol::fromQualString("aten::get");
    static const c10::Symbol kItems = c10::Symbol::fromQualString("aten::items");
    if (kind == c10::prim::Uninitialized) {
      env[node->output()] = Value::Constant(c10::IValue::uninitialized());
      return true;
    }
    if (kind == c10::aten::warn && node->outputs().empty()) return true;
    if (kind == c10::prim::DictConstruct || (kind == c10::aten::dict && inputs.empty())) {
      if (CanFold(node, inputs)) return false;
      Value dict;
      dict.kind = Value::Kind::kDict;
      dict.dict_type = TypeString(node->output()->type());
      for (size_t i = 0; i + 1 < inputs.size(); i += 2) {
        if (!inputs[i].is_constant()) return false;
        RETURN_IF_ERROR(SetDictItem(dict, inputs[i].constant, inputs[i + 1]));
      }
      env[node->output()] = std::move(dict);
      return true;
    }
    if (inputs.empty() || !node->input(0)->type()->cast<c10::DictType>()) return false;
    Value& dict = inputs[0];
    if (dict.kind != Value::Kind::kDict &&
        !(dict.is_constant() && dict.constant.isGenericDict() && kind == c10::aten::_set_item &&
          !inputs[2].is_constant())) {
      return false;
    }
    if (dict.is_constant()) {  // a constant dict that gets a runtime value
      Value structural;
      structural.kind = Value::Kind::kDict;
      structural.dict_type = TypeString(node->input(0)->type());
      for (const auto& entry : dict.constant.toGenericDict()) {
        RETURN_IF_ERROR(SetDictItem(structural, entry.key(), Value::Constant(entry.value())));
      }
      dict = std::move(structural);
    }
    if (kind == c10::aten::_set_item) {
      if (!inputs[1].is_constant()) return false;
      if (graph_ != call_graph_) {
        return Unsupported(node, scope,
                           "writing into a dict inside a branch or loop that depends on the input");
      }
      RETURN_IF_ERROR(SetDictItem(dict, inputs[1].constant, inputs[2]));
      env[node->input(0)] = dict;
      return true;
    }
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
    if (kind == c10::aten::__contains__ && inputs[1].is_constant()) {
      env[node->output()] = Value::Constant(FindKey(dict, inputs[1].constant).has_value());
      return true;
    }
    if (kind == c10::aten::len) {
      env[node->output()] = Value::Constant(static_cast<int64_t>(dict.keys.size()));
      return true;
    }
    if (kind == c10::aten::keys || kind == c10::aten::values || kind == kItems) {
      Value list;
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
    return false;  // anything else takes a runtime dict (ToArg materializes it)
  }

  static std::optional<size_t> FindKey(const Value& dict, const c10::IValue& key) {
    for (size_t i = 0; i < dict.keys.size(); ++i) {
      if (dict.keys[i].isString() && key.isString()
              ? dict.keys[i].toStringRef() == key.toStringRef()
              : dict.keys[i].isInt() && key.isInt() && dict.keys[i].toInt() == key.toInt()) {
        return i;
      }
    }
    return std::nullopt;
  }

  static absl::Status SetDictItem(Value& dict, const c10::IValue& key, Value value) {
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

  // A dict where a runtime value is needed (a graph output, an operator's or
  // a leaf's argument): one prim::DictConstruct node, args key, value, ...
  // FX passes such a dict as a literal argument, so it records no node for
  // it; IsListedByTorchvision leaves this node out of the listed names.
  absl::StatusOr<Argument> MaterializeDict(const Value& dict) {
    std::vector<Argument> args;
    for (size_t i = 0; i < dict.keys.size(); ++i) {
      ASSIGN_OR_RETURN(Argument key, ToArgument(dict.keys[i]));
      ASSIGN_OR_RETURN(Argument value, ToArg(dict.elements[i]));
      args.push_back(std::move(key));
      args.push_back(std::move(value));
    }
    Node* n = graph_->Append(
        {.target = "prim::DictConstruct", .args = std::move(args), .type = dict.dict_type});
    return Argument::NodeRef(n);
  }

  static bool AllConstant(const std::vector<Value>& values) {
    return std::all_of(values.begin(), values.end(),
                       [](const Value& v) { return v.is_constant(); });
  }

  static bool CanFold(const jit::Node* node, const std::vector<Value>& inputs) {
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
  absl::Status Fold(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                    const std::string& scope) {
    for (const Value& v : inputs) {
      if (IsUninitialized(v)) {
        // Only code after a `raise` or an early return reads such a value,
        // and WalkBlock stops there; evaluating it would trip LibTorch's
        // internal asserts.
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

  absl::StatusOr<Argument> ToArg(const Value& v) {
    switch (v.kind) {
      case Value::Kind::kConstant:
        return ToArgument(v.constant);
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

  absl::StatusOr<std::vector<Argument>> ToArgs(const jit::Node* node,
                                               const std::vector<Value>& inputs,
                                               const std::string& scope, size_t first = 0) {
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
  void BindOutputs(const jit::Node* node, Node* n, Env& env, const std::string& scope) {
    if (node->outputs().size() == 1) {
      env[node->output()] = Value::OfNode(n);
      return;
    }
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      env[node->outputs()[i]] = Value::OfNode(GetItem(n, i, node, scope));
    }
  }

  static std::string OutputsType(const jit::Node* node) {
    if (node->outputs().empty()) return "NoneType";
    if (node->outputs().size() == 1) return TypeString(node->output()->type());
    std::vector<std::string> types;
    for (const jit::Value* out : node->outputs()) types.push_back(TypeString(out->type()));
    return absl::StrCat("(", absl::StrJoin(types, ", "), ")");
  }

  // An element taken out of a list or tuple shares storage with the container
  // as far as in-place safety is concerned (chunk's pieces are views).
  Node* GetItem(Node* of, size_t index, const jit::Node* origin, const std::string& scope) {
    return graph_->Append({.target = origin->kind() == c10::prim::ListUnpack ? "aten::__getitem__.t"
                                                                             : "prim::TupleIndex",
                           .args = {Argument::NodeRef(of), Argument::Int(index)},
                           .type = TypeString(origin->outputs()[index]->type()),
                           .scope = scope,
                           .location = Location(origin),
                           .alias_of = 0});
  }

  // Which arguments an operator writes, and which one its result aliases,
  // from the schema's alias annotations ("Tensor(a!) self" -> "Tensor(a!)").
  static void AliasInfo(const jit::Node* node, NodeInit& init) {
    const c10::FunctionSchema* schema = node->maybeSchema();
    if (schema == nullptr) return;
    const auto& arguments = schema->arguments();
    for (size_t i = 0; i < arguments.size(); ++i) {
      if (arguments[i].alias_info() != nullptr && arguments[i].alias_info()->isWrite()) {
        init.mutates.push_back(static_cast<int>(i));
      }
    }
    if (schema->returns().size() != 1 || schema->returns()[0].alias_info() == nullptr) return;
    // "Tensor(a)" aliases `a`; so does "Tensor(a)[]" (chunk, split, unbind),
    // whose annotation is on the contained type.
    const c10::AliasInfo* result = schema->returns()[0].alias_info();
    std::unordered_set<c10::Symbol> result_sets = result->beforeSets();
    for (const c10::AliasInfo& contained : result->containedTypes()) {
      result_sets.insert(contained.beforeSets().begin(), contained.beforeSets().end());
    }
    for (size_t i = 0; i < arguments.size(); ++i) {
      if (arguments[i].alias_info() == nullptr) continue;
      for (const c10::Symbol& set : arguments[i].alias_info()->beforeSets()) {
        if (result_sets.count(set) && set != c10::AliasInfo::wildcardSet()) {
          init.alias_of = static_cast<int>(i);
          return;
        }
      }
    }
  }

  static bool IsGetItem(const jit::Node* node) {
    return node->kind() == c10::aten::__getitem__ || node->kind() == c10::prim::TupleIndex;
  }

  absl::Status AddOperator(const jit::Node* node, const std::vector<Value>& inputs, Env& env,
                           const std::string& scope) {
    ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope));
    NodeInit init{.target = OperatorTarget(node),
                  .args = std::move(args),
                  .type = OutputsType(node),
                  .scope = scope,
                  .location = Location(node)};
    AliasInfo(node, init);
    init.fx_op = FxOpFromSource(node);
    if (IsGetItem(node) && ContainsTensorType(node->output()->type())) init.alias_of = 0;
    Node* n = graph_->Append(std::move(init));
    BindOutputs(node, n, env, scope);
    return absl::OkStatus();
  }

  absl::Status GetAttr(const jit::Node* node, Env& env, const std::string& scope) {
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
  absl::Status TensorListAttr(const jit::Node* node, const Value& owner, const std::string& path,
                              const c10::IValue& value, Env& env, const std::string& scope) {
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
  absl::Status SetAttr(const jit::Node* node, Env& env, const std::string& scope) {
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
  std::string SetAttrContext(const jit::Node* node, const Value& owner, const std::string& field) {
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
  std::optional<size_t> FindSlot(const c10::ClassType& type, const std::string& field) {
    auto [it, inserted] = slots_.try_emplace(&type);
    if (inserted) {
      for (size_t i = 0; i < type.numAttributes(); ++i) it->second[type.getAttributeName(i)] = i;
    }
    auto found = it->second.find(field);
    if (found == it->second.end()) return std::nullopt;
    return found->second;
  }

  // One get_attr node per parameter path and graph, as FX caches its proxies.
  Node* GetAttrNode(const std::string& path, bool buffer, const jit::Node* origin,
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

  bool IsLeafModule(const ObjectPtr& module, const std::string& path) const {
    if (leaf_depth_ > 0) return false;  // inside a leaf body everything is inlined
    std::string cls = DemangleClassName(module->type()->name()->qualifiedName());
    for (const std::string& leaf : options_.leaf_modules) {
      if (leaf == path || leaf == cls || absl::StrCat("__torch__.", cls) == leaf ||
          absl::EndsWith(cls, absl::StrCat(".", leaf)) ||
          // Python spells classes of a script's main module "__main__.X".
          (absl::StartsWith(leaf, "__main__.") && cls == leaf.substr(9))) {
        return true;
      }
    }
    if (absl::StartsWith(cls, "torchvision.ops.") || !TorchvisionOpsBase(cls).empty()) return true;
    if (absl::StartsWith(cls, "torch.nn.") || absl::StartsWith(cls, "torch.ao.nn.")) {
      absl::string_view short_name = absl::string_view(cls).substr(cls.rfind('.') + 1);
      return short_name != "Sequential" && short_name != "ModuleList" && short_name != "ModuleDict";
    }
    return false;
  }

  bool IsLeafFunction(const std::string& qualified) const {
    if (leaf_depth_ > 0) return false;
    std::string name = DemangleClassName(qualified);
    for (const std::string& f : options_.autowrap_functions) {
      if (f == name || f == qualified || absl::EndsWith(name, absl::StrCat(".", f))) {
        return true;
      }
    }
    return absl::StartsWith(name, "torch.") || absl::StartsWith(name, "torchvision.");
  }

  absl::Status CallMethod(const jit::Node* node, Env& env, const std::string& scope) {
    const Value& callee = env.at(node->input(0));
    if (callee.kind != Value::Kind::kModule) {
      return Unsupported(node, scope, "calling a method of something that is not a module");
    }
    const std::string& method = node->s(c10::attr::name);
    std::vector<Value> inputs;
    for (const jit::Value* in : node->inputs()) inputs.push_back(env.at(in));
    bool forward = IsForward(method);
    if (forward && IsLeafModule(callee.module, callee.path)) {
      ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope, /*first=*/1));
      NodeInit init{.op = OpCode::kCallModule,
                    .target = callee.path,
                    .args = std::move(args),
                    .type = OutputsType(node),
                    .scope = scope,
                    .module_type = callee.module->type()->name()->qualifiedName(),
                    .location = Location(node)};
      // torch.nn activations with inplace=True overwrite their input.
      // TorchScript keeps `inplace` as a class constant (it is in __constants__).
      const c10::ClassTypePtr& cls = callee.module->type();
      c10::IValue flag;
      if (cls->hasConstant("inplace")) {
        flag = cls->getConstant("inplace");
      } else if (cls->hasAttribute("inplace")) {
        flag = callee.module->getAttr("inplace");
      }
      if (flag.isBool() && flag.toBool()) {
        init.mutates = {0};
        init.alias_of = 0;
      }
      std::string cls_name = DemangleClassName(cls->name()->qualifiedName());
      // torchvision's subclasses of torchvision.ops classes behave as their base.
      if (absl::string_view base = TorchvisionOpsBase(cls_name); !base.empty()) {
        cls_name = std::string(base);
      }
      bool known_fresh = (absl::StartsWith(cls_name, "torch.nn.") ||
                          absl::StartsWith(cls_name, "torchvision.ops.")) &&
                         IsIn(ShortName(cls_name), kFreshModules);
      if (!known_fresh) init.alias_of = 0;
      // A leaf of the user's own may write its input; torch.nn and
      // torchvision.ops modules do so only when `inplace` says so.
      if (!absl::StartsWith(cls_name, "torch.nn.") &&
          !absl::StartsWith(cls_name, "torchvision.ops.")) {
        init.mutates = {0};
      }
      Node* n = graph_->Append(std::move(init));
      if (options_.with_bodies) {
        jit::Function& body = callee.module->type()->getMethod(method);
        RETURN_IF_ERROR(TraceBody(n, *jit::toGraphFunction(body).graph(), inputs, callee.path));
      }
      BindOutputs(node, n, env, scope);
      return absl::OkStatus();
    }
    jit::Function& fn = callee.module->type()->getMethod(method);
    // FX changes the scope only when a module is called, not for its other methods.
    ASSIGN_OR_RETURN(
        std::vector<Value> outputs,
        Call(*jit::toGraphFunction(fn).graph(), std::move(inputs), forward ? callee.path : scope));
    return BindCallOutputs(node, std::move(outputs), env);
  }

  // Traces a leaf's body into a new block of `n` (TraceOptions::with_bodies),
  // inlining everything in it.
  absl::Status TraceBody(Node* n, const jit::Graph& body, const std::vector<Value>& inputs,
                         const std::string& scope) {
    Graph* saved = graph_;
    graph_ = saved->AddBlock(n);
    ++leaf_depth_;
    bool raised_before = raised_;
    absl::StatusOr<std::vector<Value>> outputs = Call(body, inputs, scope);
    raised_ = raised_before;  // the leaf stays one node of the caller
    std::vector<Argument> results;
    for (size_t i = 0; outputs.ok() && i < outputs->size(); ++i) {
      absl::StatusOr<Argument> a = ToArg((*outputs)[i]);
      if (!a.ok()) outputs = a.status();
      if (a.ok()) results.push_back(std::move(*a));
    }
    if (outputs.ok()) graph_->Append({.op = OpCode::kOutput, .args = results, .type = ""});
    --leaf_depth_;
    graph_ = saved;
    return outputs.status();
  }

  absl::Status BindCallOutputs(const jit::Node* node, std::vector<Value> outputs, Env& env) {
    if (outputs.size() != node->outputs().size()) {
      return absl::InternalError("call returned the wrong number of values");
    }
    for (size_t i = 0; i < outputs.size(); ++i) env[node->outputs()[i]] = std::move(outputs[i]);
    return absl::OkStatus();
  }

  absl::Status CallFunction(const jit::Node* node, Env& env, const std::string& scope) {
    const Value& callee = env.at(node->input(0));
    if (callee.kind != Value::Kind::kFunction) {
      return Unsupported(node, scope, "calling something that is not a known function");
    }
    std::string qualified = callee.function->qualname().qualifiedName();
    std::vector<Value> inputs;
    for (size_t i = 1; i < node->inputs().size(); ++i) inputs.push_back(env.at(node->input(i)));
    if (IsLeafFunction(qualified)) {
      ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope));
      NodeInit init{.target = qualified,
                    .args = std::move(args),
                    .type = OutputsType(node),
                    .scope = scope,
                    .location = Location(node)};
      // F.relu(x, inplace=True) and friends overwrite their first argument.
      const auto& params = callee.function->getSchema().arguments();
      for (size_t i = 0; i < params.size() && i < inputs.size(); ++i) {
        if (params[i].name() == "inplace" && inputs[i].is_constant() &&
            inputs[i].constant.isBool() && inputs[i].constant.toBool()) {
          init.mutates = {0};
          init.alias_of = 0;
        }
      }
      if (!IsIn(ShortName(qualified), kFreshFunctions)) init.alias_of = 0;
      std::string demangled = DemangleClassName(qualified);
      if (!absl::StartsWith(demangled, "torch.") && !absl::StartsWith(demangled, "torchvision.")) {
        init.mutates = {0};  // an autowrapped user function may write its input
      }
      Node* n = graph_->Append(std::move(init));
      if (options_.with_bodies) {
        RETURN_IF_ERROR(
            TraceBody(n, *jit::toGraphFunction(*callee.function).graph(), inputs, scope));
      }
      BindOutputs(node, n, env, scope);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(
        std::vector<Value> outputs,
        Call(*jit::toGraphFunction(*callee.function).graph(), std::move(inputs), scope));
    return BindCallOutputs(node, std::move(outputs), env);
  }

  absl::Status If(const jit::Node* node, Env& env, const std::string& scope) {
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
  absl::Status TraceBlock(const jit::Block& block, Graph* target, Env& env,
                          const std::string& scope) {
    Graph* saved = graph_;
    graph_ = target;
    for (size_t i = 0; i < block.inputs().size(); ++i) {
      const jit::Value* in = block.inputs()[i];
      Node* p = graph_->Append(
          {.op = OpCode::kPlaceholder,
           .target = in->hasDebugName() ? in->debugNameBase() : absl::StrCat("block_input_", i),
           .type = TypeString(in->type()),
           .scope = scope});
      env[in] = Value::OfNode(p);
    }
    bool raised_before = raised_;
    absl::StatusOr<std::vector<Value>> outputs = WalkBlock(block, env, scope);
    raised_ = raised_before;  // the raise depends on the branch or loop taken
    if (outputs.ok()) {
      std::vector<Argument> results;
      for (const Value& v : *outputs) {
        absl::StatusOr<Argument> a = ToArg(v);
        if (!a.ok()) {
          outputs = a.status();
          break;
        }
        results.push_back(std::move(*a));
      }
      if (outputs.ok()) graph_->Append({.op = OpCode::kOutput, .args = results, .type = ""});
    }
    graph_ = saved;
    return outputs.status();
  }

  absl::Status Loop(const jit::Node* node, Env& env, const std::string& scope) {
    // prim::Loop(trip_count, initial_condition, carried...); body inputs are
    // (iteration, carried...), body outputs (condition, carried...).
    std::vector<Value> inputs;
    for (const jit::Value* in : node->inputs()) inputs.push_back(env.at(in));
    const jit::Block& body = *node->blocks()[0];
    if (inputs[0].is_constant() && inputs[1].is_constant() &&
        inputs[0].constant.toInt() <= kMaxUnrolledIterations) {
      // Unroll, as FX runs the Python loop. Falls back to a loop node if the
      // condition stops being constant.
      Env trial = env;
      auto assigned_before = assigned_;
      auto read_before = read_;
      Graph* g = graph_;
      size_t size_before = g->size();
      std::vector<Value> carried(inputs.begin() + 2, inputs.end());
      bool go = inputs[1].constant.toBool();
      bool unrolled = true;
      for (int64_t i = 0; go && i < inputs[0].constant.toInt(); ++i) {
        trial[body.inputs()[0]] = Value::Constant(i);
        for (size_t k = 0; k < carried.size(); ++k) trial[body.inputs()[k + 1]] = carried[k];
        ASSIGN_OR_RETURN(std::vector<Value> out, WalkBlock(body, trial, scope));
        if (raised_) {
          carried.assign(out.begin() + 1, out.end());
          break;
        }
        if (!out[0].is_constant()) {
          unrolled = false;
          break;
        }
        go = out[0].constant.toBool();
        carried.assign(out.begin() + 1, out.end());
      }
      if (unrolled) {
        env = std::move(trial);
        return BindCallOutputs(node, std::move(carried), env);
      }
      // Undo the partial unrolling, forgetting get_attr nodes it made,
      // including those in blocks of the nodes that go.
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
      assigned_ = std::move(assigned_before);
      read_ = std::move(read_before);
      while (g->size() > size_before) {
        RETURN_IF_ERROR(g->Erase(g->nodes().back().get()));
      }
    }
    ASSIGN_OR_RETURN(std::vector<Argument> args, ToArgs(node, inputs, scope));
    Node* n = graph_->Append({.op = OpCode::kLoop,
                              .args = std::move(args),
                              .type = OutputsType(node),
                              .scope = scope,
                              .location = Location(node)});
    RETURN_IF_ERROR(TraceBlock(body, graph_->AddBlock(n), env, scope));
    BindOutputs(node, n, env, scope);
    return absl::OkStatus();
  }

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
};

}  // namespace

std::string DemangleClassName(const std::string& qualified_name) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(qualified_name, '.')) {
    if (part == "__torch__" || absl::StartsWith(part, "___torch_mangle_")) continue;
    parts.push_back(part);
  }
  return absl::StrJoin(parts, ".");
}

absl::StatusOr<std::unique_ptr<Graph>> Trace(const torch::jit::Module& module, Mode mode,
                                             const TraceOptions& options) {
  absl::StatusOr<std::unique_ptr<Graph>> graph;
  try {
    graph = Tracer(mode, options).Run(module);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot trace the module: ", DescribeLibTorchError(e)));
  }
  if (!graph.ok()) {
    return absl::Status(graph.status().code(), RephraseInternalAssert(graph.status().message()));
  }
  return graph;
}

std::string RephraseInternalAssert(absl::string_view message) {
  // TORCH_INTERNAL_ASSERT's wording: "<condition> INTERNAL ASSERT FAILED at
  // \"<file>\":<line>, please report a bug to PyTorch. <details>".
  const std::string kFailed = " INTERNAL ASSERT FAILED at ";
  const std::string kReport = "please report a bug to PyTorch.";
  std::string out(message);
  for (size_t at = out.find(kFailed); at != std::string::npos; at = out.find(kFailed)) {
    size_t report = out.find(kReport, at);
    size_t end = report == std::string::npos ? at + kFailed.size() : report + kReport.size();
    // "\"./aten/src/ATen/core/ivalue.h\":602, " -> "ivalue.h:602"
    std::string file = out.substr(at + kFailed.size(), end - at - kFailed.size());
    file = std::string(absl::StripSuffix(file, kReport));
    absl::StrReplaceAll({{"\"", ""}, {",", ""}, {" ", ""}}, &file);
    file = file.substr(file.rfind('/') + 1);
    out.replace(at, end - at,
                absl::StrCat(" is false: a consistency check inside LibTorch failed (", file,
                             ") on a value featx gave it", report == std::string::npos ? "" : "."));
  }
  // Other wordings that ask for a PyTorch bug report.
  absl::StrReplaceAll({{"INTERNAL ASSERT FAILED", "internal check failed"},
                       {" please report a bug to PyTorch.", ""},
                       {"please report a bug to PyTorch", "an internal check of LibTorch"}},
                      &out);
  return out;
}

std::string DescribeLibTorchError(const std::exception& e) {
  const auto* error = dynamic_cast<const c10::Error*>(&e);
  std::string what = error != nullptr ? error->what_without_backtrace() : e.what();
  // LibTorch's messages often start with a newline and continue with source
  // excerpts; the first non-empty line states the cause.
  for (absl::string_view line : absl::StrSplit(what, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) return RephraseInternalAssert(line);
  }
  return "LibTorch raised an error without a message";
}

}  // namespace featx
