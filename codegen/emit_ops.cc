// Operators (see emitter.h).

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "codegen/cpp_optimize.h"
#include "codegen/emitter.h"

namespace featx {

absl::Status BodyEmitter::EmitOperator(const Node& n) {
  if (input_.optimize) {
    if (std::optional<Conv2dCall> conv = MatchConv2d(n)) return EmitPrepackedConv(n, *conv);
  }
  if (n.target() == "prim::TupleIndex") return EmitTupleIndex(n);
  if (n.target() == "prim::DictConstruct") return EmitDictConstruct(n);
  auto info = input_.operators.find(n.target());
  if (info == input_.operators.end()) return absl::InternalError("no schema for the operator");
  ASSIGN_OR_RETURN(Schema schema, ParseSchema(info->second.schema));
  if (schema.vararg || n.args().size() > schema.params.size()) {
    if (!info->second.aten && schema.name == "aten::format") return EmitFormat(n);
    // Varargs operators need their JIT node to run; no boxed call.
    return absl::UnimplementedError("variadic operator");
  }
  // Builtins take int lists as std::vector; ATen operators as IntArrayRef.
  ListForm form = info->second.aten ? ListForm::kArrayRef : ListForm::kVector;
  std::vector<std::string> args;
  for (size_t i = 0; i < n.args().size(); ++i) {
    absl::StatusOr<std::string> e = Expr(n.args()[i], schema.params[i].type, form);
    // No typed form for this argument: the registry takes any IValue.
    if (!e.ok()) return EmitBoxed(n, schema, info->second);
    args.push_back(std::move(*e));
  }
  if (!info->second.aten) return EmitBuiltin(n, schema, info->second, args);
  if (!HasTypedForm(n, schema)) return EmitBoxed(n, schema, info->second);
  return EmitAten(n, schema, args);
}

// at::_ops::<name>_<overload>::call(...), declared in <ATen/ops/<name>_ops.h>.
absl::Status BodyEmitter::EmitAten(const Node& n, const Schema& schema,
                                   const std::vector<std::string>& args) {
  ops_headers_.insert(AtenOpsHeader(schema));
  std::string call =
      absl::StrCat("at::_ops::", AtenOpsStruct(schema), "::call(", absl::StrJoin(args, ", "), ")");
  EmitComment(n);
  if (n.type() == "NoneType") {
    p_.Emit({{"call", call}}, "$call$;\n");
    vars_[&n] = "c10::nullopt";
    return absl::OkStatus();
  }
  p_.Emit({{"var", NewVar(n)}, {"call", call}}, "auto $var$ = $call$;\n");
  return absl::OkStatus();
}

absl::Status BodyEmitter::EmitTupleIndex(const Node& n) {
  ASSIGN_OR_RETURN(std::string tuple, Expr(n.args()[0], ""));
  EmitComment(n);
  p_.Emit({{"var", NewVar(n)}, {"k", n.args()[1].int_value()}, {"tuple", tuple}},
          "auto $var$ = std::get<$k$>($tuple$);\n");
  return absl::OkStatus();
}

// A dict the tracer kept structural (constant keys) where a runtime value is
// needed (an FPN leaf's argument): args are key, value, key, value, ...
absl::Status BodyEmitter::EmitDictConstruct(const Node& n) {
  ASSIGN_OR_RETURN(std::string type, CppType(n.type()));
  absl::string_view t = n.type();
  size_t comma = t.find(", ");
  if (!absl::StartsWith(t, "Dict[") || comma == absl::string_view::npos) {
    return absl::UnimplementedError(absl::StrCat("a dict of type ", n.type()));
  }
  std::string key_type(t.substr(5, comma - 5));
  std::string value_type(t.substr(comma + 2, t.size() - comma - 3));
  std::string var = NewVar(n);
  EmitComment(n);
  p_.Emit({{"type", type}, {"var", var}}, "$type$ $var$;\n");
  for (size_t i = 0; i + 1 < n.args().size(); i += 2) {
    ASSIGN_OR_RETURN(std::string key, Expr(n.args()[i], key_type));
    ASSIGN_OR_RETURN(std::string value, Expr(n.args()[i + 1], value_type));
    p_.Emit({{"var", var}, {"key", key}, {"value", value}}, "$var$.insert($key$, $value$);\n");
  }
  return absl::OkStatus();
}

// A convolution of optimized code: a PrepackedConv2d member (cpp_optimize.h).
absl::Status BodyEmitter::EmitPrepackedConv(const Node& n, const Conv2dCall& conv) {
  ASSIGN_OR_RETURN(std::string x, NodeExpr(conv.input));
  std::string member = conv_names_.Unique(n.name().empty() ? "conv" : n.name());
  std::string bias = conv.bias.empty() ? "" : "extractor." + weight_members_.at(conv.bias);
  convs_.emplace_back(
      member, PrepackedConvInit(conv, "extractor." + weight_members_.at(conv.weight), bias));
  EmitComment(n);
  p_.Emit({{"var", NewVar(n)}, {"member", member}, {"x", x}},
          "auto $var$ = optimized_->$member$($x$);\n");
  return absl::OkStatus();
}

// A TorchScript builtin that is not an ATen operator: a row of the lowering
// table (builtins.h), or else a boxed call.
absl::Status BodyEmitter::EmitBuiltin(const Node& n, const Schema& schema, const OperatorInfo& info,
                                      const std::vector<std::string>& args) {
  const BuiltinLowering* b = FindBuiltinLowering(n.target());
  if (b == nullptr) return EmitBoxed(n, schema, info);
  if (b->helper != nullptr) runtime_sections_.insert(b->helper);
  if (b->include != nullptr) includes_.insert(b->include);
  std::string expr;
  if (b->custom != nullptr) {
    ASSIGN_OR_RETURN(expr, b->custom(LoweringContext{n, args, exprs_}));
  } else {
    std::string type;
    if (absl::StrContains(b->expr, "$T")) {
      ASSIGN_OR_RETURN(type, CppType(n.type()));
    }
    expr = FillTemplate(b->expr, args, type);
  }
  EmitComment(n);
  if (!b->statement) {
    p_.Emit({{"var", NewVar(n)}, {"expr", expr}}, "auto $var$ = $expr$;\n");
    return absl::OkStatus();
  }
  p_.Emit({{"expr", expr}}, "$expr$;\n");
  if (n.type() == "NoneType" || n.args().empty() || !n.args()[0].is_node()) {
    vars_[&n] = "c10::nullopt";
  } else {
    vars_[&n] = vars_.at(n.args()[0].node());
  }
  return absl::OkStatus();
}

// "...".format(args...), for error messages: the runtime's Format.
absl::Status BodyEmitter::EmitFormat(const Node& n) {
  std::vector<std::string> args;
  for (const Argument& a : n.args()) {
    ASSIGN_OR_RETURN(std::string e, Expr(a, ""));
    args.push_back(e);
  }
  runtime_sections_.insert("format");
  EmitComment(n);
  p_.Emit({{"var", NewVar(n)}, {"args", absl::StrJoin(args, ", ")}},
          "auto $var$ = Format($args$);\n");
  return absl::OkStatus();
}

}  // namespace featx
