// Boxed calls (see emitter.h): an operator with no typed C++ form, called
// through LibTorch's registry: the c10 dispatcher for its operators, the JIT
// operator registry for TorchScript builtins (prim::, and aten:: ones the
// dispatcher lacks). The operator is looked up once (a function-local
// static); arguments go on a stack of IValues and the results come back
// converted to the node's type:
//
//   // nms (boxed)
//   auto nms = [&] {
//     static const c10::OperatorHandle nms_op = c10::Dispatcher::singleton()...;
//     std::vector<c10::IValue> nms_stack;
//     nms_stack.emplace_back(x);
//     nms_op.callBoxed(&nms_stack);
//     return std::move(nms_stack[0]).to<at::Tensor>();
//   }();

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "codegen/emitter.h"

namespace featx {

namespace {

// IValues carry SymInts as ints: "SymInt[]?" is passed as "int[]?".
Type WithIntForSymInt(const Type& t) {
  if (t.kind() == Type::Kind::kSymInt) return Type::Int();
  if (t.is_list()) return Type::List(WithIntForSymInt(t.element()));
  if (t.is_optional()) return Type::Optional(WithIntForSymInt(t.element()));
  return t;
}

}  // namespace

// The results' C++ types: the schema's returns, as the node's type has them.
absl::StatusOr<std::vector<std::string>> BodyEmitter::BoxedResultTypes(
    const Node& n, const OperatorSchema& schema) {
  std::vector<std::string> types;
  const Type& t = n.value_type();
  if (t.is_none()) return types;
  if (n.multiple_results() && schema.returns.size() > 1) {
    for (const Type& part : t.contained()) {
      ASSIGN_OR_RETURN(std::string c, CppType(part));
      types.push_back(c);
    }
    return types;
  }
  ASSIGN_OR_RETURN(std::string c, CppType(t));
  types.push_back(c);
  return types;
}

void BodyEmitter::EmitBoxedLookup(const Node& n, const OperatorSchema& schema,
                                  const OperatorInfo& info, const std::string& op) {
  std::string name = StringLiteral(schema.name);
  std::string overload = StringLiteral(schema.overload);
  if (info.dispatcher) {
    includes_.insert("ATen/core/dispatch/Dispatcher.h");
    p_.Emit({{"op", op}, {"name", name}, {"overload", overload}},
            "static const c10::OperatorHandle $op$ = "
            "c10::Dispatcher::singleton().findSchemaOrThrow($name$, $overload$);\n");
    return;
  }
  includes_.insert("torch/csrc/jit/runtime/operator.h");
  p_.Emit({{"op", op},
           {"name", name},
           {"overload", overload},
           {"missing", StringLiteral(absl::StrCat("operator ", n.target(), " is not registered"))}},
          R"cc(static torch::jit::Operation $op$ = [] {
  auto found = torch::jit::findOperatorFor(c10::OperatorName($name$, $overload$));
  TORCH_CHECK(found != nullptr, $missing$);
  return found->getOperation();
}();
)cc");
}

absl::Status BodyEmitter::EmitBoxed(const Node& n, const OperatorSchema& schema,
                                    const OperatorInfo& info) {
  if (IsVariadicCall(n, schema)) return absl::UnimplementedError("variadic operator");
  std::vector<std::string> args;
  for (size_t i = 0; i < n.args().size(); ++i) {
    ParamType type = ParamType::Of(schema.arguments[i]);
    type.type = WithIntForSymInt(*type.type);
    // Lists as std::vector, which IValue takes.
    ASSIGN_OR_RETURN(std::string e, Expr(n.args()[i], type, ListForm::kVector));
    args.push_back(std::move(e));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> result_types, BoxedResultTypes(n, schema));
  std::string var =
      n.value_type().is_none() ? names_.Unique(n.name().empty() ? "v" : n.name()) : NewVar(n);
  std::string op = names_.Unique(var + "_op");
  std::string stack = names_.Unique(var + "_stack");
  EmitComment(n, " (boxed)");
  p_.Emit({{"var", var}}, result_types.empty() ? "{\n" : "auto $var$ = [&] {\n");
  {
    Printer::Indent body(p_);
    EmitBoxedLookup(n, schema, info, op);
    p_.Emit({{"stack", stack}}, "std::vector<c10::IValue> $stack$;\n");
    // A list the operator writes (aten::insert.t) is held here as a
    // std::vector, a copy of the IValue's list: copy the written list back.
    std::vector<std::pair<std::string, std::string>> write_back;  // statement vars
    for (size_t k = 0; k < args.size(); ++k) {
      const Argument& a = n.args()[k];
      bool written = std::find(n.mutates().begin(), n.mutates().end(), static_cast<int>(k)) !=
                     n.mutates().end();
      if (written && a.is_node() && a.node()->value_type().is_list()) {
        ASSIGN_OR_RETURN(std::string cpp, CppType(a.node()->value_type()));
        std::string held = names_.Unique(absl::StrCat(var, "_arg", k));
        p_.Emit({{"held", held}, {"arg", args[k]}, {"stack", stack}},
                "c10::IValue $held$($arg$);\n$stack$.push_back($held$);\n");
        write_back.emplace_back(args[k], absl::StrCat(held, ".to<", cpp, ">()"));
        continue;
      }
      p_.Emit({{"stack", stack}, {"arg", args[k]}}, "$stack$.emplace_back($arg$);\n");
    }
    p_.Emit({{"op", op}, {"stack", stack}},
            info.dispatcher ? "$op$.callBoxed(&$stack$);\n" : "$op$($stack$);\n");
    for (const auto& [arg, value] : write_back) {
      p_.Emit({{"arg", arg}, {"value", value}}, "$arg$ = $value$;\n");
    }
    std::vector<std::string> results;
    for (size_t k = 0; k < result_types.size(); ++k) {
      results.push_back(
          absl::StrCat("std::move(", stack, "[", k, "]).to<", result_types[k], ">()"));
    }
    if (results.size() == 1) p_.Emit({{"value", results[0]}}, "return $value$;\n");
    if (results.size() > 1) {
      p_.Emit({{"values", absl::StrJoin(results, ", ")}}, "return std::make_tuple($values$);\n");
    }
  }
  p_.Emit(result_types.empty() ? "}\n" : "}();\n");
  if (result_types.empty()) vars_[&n] = "c10::nullopt";
  return absl::OkStatus();
}

}  // namespace featx
