#include "tracer/tracer.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "torch/csrc/jit/api/function_impl.h"
#include "tracer/from_c10.h"
#include "tracer/fx_source.h"
#include "tracer/leaf_modules.h"
#include "tracer/walker.h"

namespace featx {
namespace tracer_internal {

// Node kinds with a handler of their own; every other kind is folded
// (structural.cc) or emitted as an operator (emit.cc).
const absl::flat_hash_map<c10::unique_t, Tracer::NodeHandler>& Tracer::NodeHandlers() {
  static const auto* handlers = new absl::flat_hash_map<c10::unique_t, Tracer::NodeHandler>{
      {c10::prim::Constant, &Tracer::Constant},
      {c10::prim::GetAttr, &Tracer::GetAttr},
      {c10::prim::SetAttr, &Tracer::SetAttr},
      {c10::prim::CallMethod, &Tracer::CallMethod},
      {c10::prim::CallFunction, &Tracer::CallFunction},
      {c10::prim::If, &Tracer::If},
      {c10::prim::Loop, &Tracer::Loop},
      {c10::prim::unchecked_cast, &Tracer::UncheckedCast},
  };
  return *handlers;
}

absl::StatusOr<std::unique_ptr<Graph>> Tracer::Run(const jit::Module& module) {
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
        {.op = OpCode::kPlaceholder, .target = std::move(name), .type = TypeFromC10(in->type())});
    inputs.push_back(Value::OfNode(p));
  }
  ASSIGN_OR_RETURN(std::vector<Value> outputs, Call(*ts, std::move(inputs), ""));
  RETURN_IF_ERROR(AppendOutput(outputs));
  return graph;
}

// Walks a TorchScript graph (a method or function body) with the given input
// values, in `scope`. Returns the values it returns.
absl::StatusOr<std::vector<Value>> Tracer::Call(const jit::Graph& ts, std::vector<Value> inputs,
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

absl::StatusOr<std::vector<Value>> Tracer::WalkBlock(const jit::Block& block, Env& env,
                                                     const std::string& scope) {
  for (const jit::Node* node : block.nodes()) {
    RETURN_IF_ERROR(WalkNode(node, env, scope));
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
    outputs.push_back(it != env.end() ? it->second : Value::Constant(c10::IValue::uninitialized()));
  }
  return outputs;
}

absl::Status Tracer::WalkNode(const jit::Node* node, Env& env, const std::string& scope) {
  const auto& handlers = NodeHandlers();
  if (auto it = handlers.find(node->kind()); it != handlers.end()) {
    return (this->*(it->second))(node, env, scope);
  }
  std::vector<Value> inputs;
  inputs.reserve(node->inputs().size());
  for (const jit::Value* in : node->inputs()) inputs.push_back(env.at(in));
  ASSIGN_OR_RETURN(bool folded, FoldStructural(node, inputs, env, scope));
  if (folded) return absl::OkStatus();
  RETURN_IF_ERROR(MaterializeMutatedLists(node, inputs, env, scope));
  if (CanFold(node, inputs)) return Fold(node, inputs, env, scope);
  return AddOperator(node, inputs, env, scope);
}

absl::Status Tracer::Constant(const jit::Node* node, Env& env, const std::string& /*scope*/) {
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

absl::Status Tracer::UncheckedCast(const jit::Node* node, Env& env, const std::string& /*scope*/) {
  env[node->output()] = env.at(node->input());
  return absl::OkStatus();
}

absl::Status Tracer::Unsupported(const jit::Node* node, const std::string& scope,
                                 absl::string_view why) {
  std::string loc = Location(node);
  return absl::UnimplementedError(absl::StrCat("cannot trace ", node->kind().toQualString(),
                                               loc.empty() ? "" : " at ", loc, " in module '",
                                               scope.empty() ? "<root>" : scope, "': ", why));
}

// The graph's (or block's) output node for `outputs`, if they were traced.
absl::Status Tracer::AppendOutput(const absl::StatusOr<std::vector<Value>>& outputs) {
  if (!outputs.ok()) return outputs.status();
  std::vector<Argument> results;
  for (const Value& v : *outputs) {
    ASSIGN_OR_RETURN(Argument a, ToArg(v));
    results.push_back(std::move(a));
  }
  graph_->Append({.op = OpCode::kOutput, .args = std::move(results), .type = Type::None()});
  return absl::OkStatus();
}

}  // namespace tracer_internal

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
    if (absl::Status s = CheckTraceable(module, options); !s.ok()) return s;
    graph = tracer_internal::Tracer(mode, options).Run(module);
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
  // CAFFE_ENFORCE / CAFFE_THROW's prefix, "[enforce fail at file.cc:129] . ",
  // says where in LibTorch, not what is wrong: the text after it does.
  if (absl::StartsWith(out, "[enforce fail at ")) {
    size_t close = out.find("] ");
    if (close != std::string::npos) {
      out = std::string(absl::StripPrefix(absl::string_view(out).substr(close + 2), ". "));
    }
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
