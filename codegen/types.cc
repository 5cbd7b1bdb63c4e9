#include "codegen/types.h"

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "codegen/names.h"
#include "graph/text.h"

namespace featx {

namespace {

bool Is(const std::optional<Type>& t, Type::Kind kind) {
  return t.has_value() && t->kind() == kind;
}

// TorchScript carries dtypes, layouts and memory formats as ints; C++ has enums.
bool IsEnum(const std::optional<Type>& t) {
  return Is(t, Type::Kind::kScalarType) || Is(t, Type::Kind::kLayout) ||
         Is(t, Type::Kind::kMemoryFormat);
}

std::string EnumCast(const Type& t, absl::string_view value) {
  return absl::StrCat("static_cast<at::", t.ToSchemaString(), ">(", value, ")");
}

}  // namespace

ParamType ParamType::Of(const SchemaArgument& argument) {
  ParamType p(argument.type);
  p.list_size = argument.list_size;
  return p;
}

absl::StatusOr<std::string> CppType(const Type& type) {
  switch (type.kind()) {
    case Type::Kind::kTensor:
      return std::string("at::Tensor");
    case Type::Kind::kInt:
    case Type::Kind::kSymInt:
      return std::string("int64_t");
    case Type::Kind::kFloat:
      return std::string("double");
    case Type::Kind::kBool:
      return std::string("bool");
    case Type::Kind::kStr:
      return std::string("std::string");
    case Type::Kind::kDevice:
      return std::string("at::Device");
    case Type::Kind::kScalar:
      return std::string("at::Scalar");
    case Type::Kind::kDict:
      if (type.contained()[0].kind() == Type::Kind::kStr) {  // Dict[str, Tensor]
        ASSIGN_OR_RETURN(std::string value, CppType(type.contained()[1]));
        return absl::StrCat("c10::Dict<std::string, ", value, ">");
      }
      break;
    case Type::Kind::kList:
    case Type::Kind::kOptional:
    case Type::Kind::kTuple: {
      std::vector<std::string> parts;
      for (const Type& inner : type.contained()) {
        ASSIGN_OR_RETURN(std::string t, CppType(inner));
        parts.push_back(std::move(t));
      }
      absl::string_view cpp = type.is_list()       ? "std::vector"
                              : type.is_optional() ? "c10::optional"
                                                   : "std::tuple";
      return absl::StrCat(cpp, "<", absl::StrJoin(parts, ", "), ">");
    }
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("no C++ type for '", type.ToString(), "'"));
}

absl::StatusOr<std::string> ArgumentExprs::NodeValue(const Argument& a, const ParamType& param,
                                                     bool optional_param) const {
  ASSIGN_OR_RETURN(std::string v, node_expr_(a.node()));
  const std::optional<Type>& type = param.type;
  // TorchScript refines an Optional after an `is not None` check
  // (prim::unchecked_cast, which the tracer passes through). A type variable
  // takes the Optional as it is.
  if (a.node()->value_type().is_optional() && !optional_param && type.has_value() &&
      type->kind() != Type::Kind::kVar) {
    v = absl::StrCat(v, ".value()");
  }
  if (Is(type, Type::Kind::kSymInt)) return absl::StrCat("c10::SymInt(", v, ")");
  if (type.has_value() && type->is_list() && type->element().kind() == Type::Kind::kSymInt) {
    return absl::StrCat("c10::fromIntArrayRefUnchecked(", v, ")");
  }
  if (Is(type, Type::Kind::kScalar)) return absl::StrCat("at::Scalar(", v, ")");
  if (IsEnum(type)) return EnumCast(*type, v);
  return v;
}

absl::StatusOr<std::string> ArgumentExprs::Expr(const Argument& a, const ParamType& param_type,
                                                ListForm form) const {
  ParamType param = param_type;
  bool optional_param = param.type.has_value() && param.type->is_optional();
  if (optional_param) {
    if (a.kind() == Argument::Kind::kNone) return std::string("c10::nullopt");
    param.type = Type(param.type->element());
  }
  const std::optional<Type>& type = param.type;
  switch (a.kind()) {
    case Argument::Kind::kNode:
      return NodeValue(a, param, optional_param);
    case Argument::Kind::kNone:
      if (Is(type, Type::Kind::kTensor)) return std::string("at::Tensor()");
      return std::string("c10::nullopt");
    case Argument::Kind::kBool: {
      std::string v = a.bool_value() ? "true" : "false";
      if (Is(type, Type::Kind::kScalar)) return absl::StrCat("at::Scalar(", v, ")");
      return v;
    }
    case Argument::Kind::kInt: {
      std::string v = absl::StrCat("int64_t{", a.int_value(), "}");
      if (a.int_value() == std::numeric_limits<int64_t>::min()) {
        v = "std::numeric_limits<int64_t>::min()";
      }
      if (IsEnum(type)) return EnumCast(*type, absl::StrCat(a.int_value()));
      if (Is(type, Type::Kind::kFloat)) return absl::StrCat("static_cast<double>(", v, ")");
      if (Is(type, Type::Kind::kSymInt)) return absl::StrCat("c10::SymInt(", v, ")");
      if (Is(type, Type::Kind::kScalar)) return absl::StrCat("at::Scalar(", v, ")");
      if (Is(type, Type::Kind::kInt)) return absl::StrCat(a.int_value());
      return v;
    }
    case Argument::Kind::kDouble: {
      std::string v = FormatDouble(a.double_value());
      if (v == "inf") v = "std::numeric_limits<double>::infinity()";
      if (v == "-inf") v = "-std::numeric_limits<double>::infinity()";
      if (v == "nan") v = "std::numeric_limits<double>::quiet_NaN()";
      if (Is(type, Type::Kind::kScalar)) return absl::StrCat("at::Scalar(", v, ")");
      return v;
    }
    case Argument::Kind::kString:
      return StringLiteral(a.string_value());
    case Argument::Kind::kDevice:
      return absl::StrCat("at::Device(", StringLiteral(a.string_value()), ")");
    case Argument::Kind::kTuple: {
      std::vector<std::string> parts;
      for (const Argument& e : a.elements()) {
        ASSIGN_OR_RETURN(std::string p, Expr(e, ParamType(), form));
        parts.push_back(p);
      }
      return absl::StrCat("std::make_tuple(", absl::StrJoin(parts, ", "), ")");
    }
    case Argument::Kind::kList:
      return ListExpr(a, param, form);
  }
  return absl::InternalError("unknown argument kind");
}

absl::StatusOr<std::string> ArgumentExprs::ListExpr(const Argument& a, const ParamType& param,
                                                    ListForm form) const {
  bool vector_lists = form == ListForm::kVector;
  bool known = param.type.has_value();
  // The element type: the parameter's ("int[]"), unless it is a type variable
  // ("t[]"); else that of the first element.
  std::optional<Type> element;
  bool element_of_node = false;
  if (known && param.type->is_list() && param.type->element().kind() != Type::Kind::kVar) {
    element = param.type->element();
  } else if (!a.elements().empty()) {
    const Argument& first = a.elements()[0];
    element = first.kind() == Argument::Kind::kDouble ? Type::Float()
              : first.kind() == Argument::Kind::kBool ? Type::Bool()
              : first.kind() == Argument::Kind::kNode ? first.node()->value_type()
                                                      : Type::Int();
    element_of_node = first.kind() == Argument::Kind::kNode;
  }
  bool ints = Is(element, Type::Kind::kInt) || Is(element, Type::Kind::kSymInt);
  std::vector<std::string> parts;
  for (const Argument& e : a.elements()) {
    // Plain numbers inside int lists: "{1, 1}", not "{int64_t{1}, ...}".
    if (e.kind() == Argument::Kind::kInt && ints) {
      parts.push_back(absl::StrCat(e.int_value()));
      continue;
    }
    ParamType e_type;
    if (element.has_value()) e_type = ints ? Type::Int() : *element;
    ASSIGN_OR_RETURN(std::string p, Expr(e, e_type, form));
    parts.push_back(p);
  }
  std::string joined = absl::StrJoin(parts, ", ");
  if (Is(element, Type::Kind::kTensor)) {
    return absl::StrCat("std::vector<at::Tensor>{", joined, "}");
  }
  if (element.has_value() && element->is_optional() && element->element().is_tensor()) {
    // A schema's Tensor?[] is a c10::List; a list of Optional values held here a vector.
    if (element_of_node) {
      return absl::StrCat("std::vector<c10::optional<at::Tensor>>{", joined, "}");
    }
    return absl::StrCat("c10::List<c10::optional<at::Tensor>>({", joined, "})");
  }
  if (Is(element, Type::Kind::kFloat)) return absl::StrCat("std::vector<double>{", joined, "}");
  if (Is(element, Type::Kind::kBool)) {
    if (param.list_size.has_value()) {  // "bool[3]"
      return absl::StrCat("std::array<bool, ", *param.list_size, ">{", joined, "}");
    }
    return absl::StrCat("std::vector<bool>{", joined, "}");
  }
  if (ints) {
    // An IntArrayRef of a braced list lives only as long as the call it is an
    // argument of; anywhere else (declarations, returns) use a vector.
    bool literal = a.IsLiteral() && !vector_lists && known;
    std::string list = literal ? absl::StrCat("at::IntArrayRef({", joined, "})")
                               : absl::StrCat("std::vector<int64_t>{", joined, "}");
    if (Is(element, Type::Kind::kSymInt)) {
      return absl::StrCat("c10::fromIntArrayRefUnchecked(", list, ")");
    }
    if (literal || vector_lists || !known) return list;
    return absl::StrCat("at::IntArrayRef(", list, ")");
  }
  if (a.elements().empty() && !element.has_value()) return std::string("{}");  // typed by the use
  return absl::UnimplementedError(absl::StrCat(
      "no C++ form for a list of type '", known ? param.type->ToSchemaString() : "unknown", "'"));
}

}  // namespace featx
