#include "codegen/types.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "codegen/names.h"
#include "codegen/schema.h"
#include "graph/text.h"

namespace featx {

namespace {

bool EndsWithList(absl::string_view type) {
  return absl::EndsWith(type, "]") && type.find('[') != absl::string_view::npos;
}

absl::string_view ListElement(absl::string_view type) { return type.substr(0, type.rfind('[')); }

}  // namespace

absl::StatusOr<std::string> CppType(absl::string_view type) {
  if (type == "Tensor") return std::string("at::Tensor");
  if (type == "int" || type == "SymInt") return std::string("int64_t");
  if (type == "float") return std::string("double");
  if (type == "bool") return std::string("bool");
  if (type == "str") return std::string("std::string");
  if (type == "Device") return std::string("at::Device");
  if (type == "Scalar" || type == "number") return std::string("at::Scalar");
  if (absl::StartsWith(type, "Dict[str, ") && absl::EndsWith(type, "]")) {  // Dict[str, Tensor]
    ASSIGN_OR_RETURN(std::string value, CppType(type.substr(10, type.size() - 11)));
    return absl::StrCat("c10::Dict<std::string, ", value, ">");
  }
  if (type == "int[]") return std::string("std::vector<int64_t>");
  if (type == "Tensor[]") return std::string("std::vector<at::Tensor>");
  if (type == "Tensor?") return std::string("c10::optional<at::Tensor>");
  if (absl::StartsWith(type, "(") && absl::EndsWith(type, ")")) {  // several outputs
    return CppType(absl::StrCat("Tuple[", type.substr(1, type.size() - 2), "]"));
  }
  // Python spellings: List[int], Optional[Tensor], Tuple[Tensor, Tensor].
  for (const auto& [prefix, cpp] :
       {std::pair<absl::string_view, absl::string_view>{"List[", "std::vector"},
        {"Optional[", "c10::optional"},
        {"Tuple[", "std::tuple"}}) {
    if (!absl::StartsWith(type, prefix) || !absl::EndsWith(type, "]")) continue;
    std::vector<std::string> parts;
    for (const std::string& inner :
         SplitTopLevel(type.substr(prefix.size(), type.size() - prefix.size() - 1))) {
      ASSIGN_OR_RETURN(std::string t, CppType(inner));
      parts.push_back(t);
    }
    return absl::StrCat(cpp, "<", absl::StrJoin(parts, ", "), ">");
  }
  return absl::UnimplementedError(absl::StrCat("no C++ type for '", type, "'"));
}

std::string ListElementType(absl::string_view type) {
  if (absl::StartsWith(type, "List[")) return std::string(type.substr(5, type.size() - 6));
  if (absl::EndsWith(type, "[]")) return std::string(type.substr(0, type.size() - 2));
  return std::string(type);
}

bool IsOptionalType(absl::string_view type) {
  return absl::StartsWith(type, "Optional[") || absl::EndsWith(type, "?");
}

absl::StatusOr<std::string> ArgumentExprs::NodeValue(const Argument& a, absl::string_view type,
                                                     bool optional_param) const {
  ASSIGN_OR_RETURN(std::string v, node_expr_(a.node()));
  // TorchScript refines an Optional after an `is not None` check
  // (prim::unchecked_cast, which the tracer passes through).
  if (absl::StartsWith(a.node()->type(), "Optional[") && !optional_param && type.size() > 1) {
    v = absl::StrCat(v, ".value()");
  }
  if (type == "SymInt") return absl::StrCat("c10::SymInt(", v, ")");
  if (absl::StartsWith(type, "SymInt[")) {
    return absl::StrCat("c10::fromIntArrayRefUnchecked(", v, ")");
  }
  if (type == "Scalar") return absl::StrCat("at::Scalar(", v, ")");
  // TorchScript carries dtypes, layouts and memory formats as ints.
  if (type == "ScalarType" || type == "Layout" || type == "MemoryFormat") {
    return absl::StrCat("static_cast<at::", type, ">(", v, ")");
  }
  return v;
}

absl::StatusOr<std::string> ArgumentExprs::Expr(const Argument& a, absl::string_view type,
                                                ListForm form) const {
  bool optional_param = absl::EndsWith(type, "?");
  if (optional_param) {
    if (a.kind() == Argument::Kind::kNone) return std::string("c10::nullopt");
    type.remove_suffix(1);
  }
  switch (a.kind()) {
    case Argument::Kind::kNode:
      return NodeValue(a, type, optional_param);
    case Argument::Kind::kNone:
      if (type == "Tensor") return std::string("at::Tensor()");
      return std::string("c10::nullopt");
    case Argument::Kind::kBool: {
      std::string v = a.bool_value() ? "true" : "false";
      if (type == "Scalar") return absl::StrCat("at::Scalar(", v, ")");
      return v;
    }
    case Argument::Kind::kInt: {
      std::string v = absl::StrCat("int64_t{", a.int_value(), "}");
      if (a.int_value() == INT64_MIN) v = "std::numeric_limits<int64_t>::min()";
      if (type == "ScalarType" || type == "Layout" || type == "MemoryFormat") {
        return absl::StrCat("static_cast<at::", type, ">(", a.int_value(), ")");
      }
      if (type == "float") return absl::StrCat("static_cast<double>(", v, ")");
      if (type == "SymInt") return absl::StrCat("c10::SymInt(", v, ")");
      if (type == "Scalar") return absl::StrCat("at::Scalar(", v, ")");
      if (type == "int") return absl::StrCat(a.int_value());
      return v;
    }
    case Argument::Kind::kDouble: {
      std::string v = FormatDouble(a.double_value());
      if (v == "inf") v = "std::numeric_limits<double>::infinity()";
      if (v == "-inf") v = "-std::numeric_limits<double>::infinity()";
      if (v == "nan") v = "std::numeric_limits<double>::quiet_NaN()";
      if (type == "Scalar") return absl::StrCat("at::Scalar(", v, ")");
      return v;
    }
    case Argument::Kind::kString:
      return StringLiteral(a.string_value());
    case Argument::Kind::kDevice:
      return absl::StrCat("at::Device(", StringLiteral(a.string_value()), ")");
    case Argument::Kind::kTuple: {
      std::vector<std::string> parts;
      for (const Argument& e : a.elements()) {
        ASSIGN_OR_RETURN(std::string p, Expr(e, "", form));
        parts.push_back(p);
      }
      return absl::StrCat("std::make_tuple(", absl::StrJoin(parts, ", "), ")");
    }
    case Argument::Kind::kList:
      return ListExpr(a, type, form);
  }
  return absl::InternalError("unknown argument kind");
}

absl::StatusOr<std::string> ArgumentExprs::ListExpr(const Argument& a, absl::string_view type,
                                                    ListForm form) const {
  bool vector_lists = form == ListForm::kVector;
  absl::string_view element = EndsWithList(type) ? ListElement(type) : absl::string_view();
  if (element.size() == 1) element = "";  // a type variable ("t[]")
  if (element.empty() && !a.elements().empty()) {
    // Unknown parameter type: infer from the first element.
    const Argument& first = a.elements()[0];
    element = first.kind() == Argument::Kind::kDouble ? "float"
              : first.kind() == Argument::Kind::kBool ? "bool"
              : first.kind() == Argument::Kind::kNode ? absl::string_view(first.node()->type())
                                                      : "int";
  }
  std::vector<std::string> parts;
  for (const Argument& e : a.elements()) {
    // Plain numbers inside int lists: "{1, 1}", not "{int64_t{1}, ...}".
    if (e.kind() == Argument::Kind::kInt && (element == "int" || element == "SymInt")) {
      parts.push_back(absl::StrCat(e.int_value()));
      continue;
    }
    absl::string_view e_type = element == "SymInt" ? "int" : element;
    ASSIGN_OR_RETURN(std::string p, Expr(e, e_type, form));
    parts.push_back(p);
  }
  std::string joined = absl::StrJoin(parts, ", ");
  if (element == "Tensor") return absl::StrCat("std::vector<at::Tensor>{", joined, "}");
  if (element == "Tensor?") {
    return absl::StrCat("c10::List<c10::optional<at::Tensor>>({", joined, "})");
  }
  if (element == "float") return absl::StrCat("std::vector<double>{", joined, "}");
  if (element == "bool" && (absl::EndsWith(type, "[]") || type.empty() || type == "t[]")) {
    return absl::StrCat("std::vector<bool>{", joined, "}");
  }
  if (element == "bool" && !absl::EndsWith(type, "[]") && absl::StartsWith(type, "bool[")) {
    std::string n(type.substr(5, type.size() - 6));
    return absl::StrCat("std::array<bool, ", n, ">{", joined, "}");
  }
  if (element == "Optional[Tensor]") {
    return absl::StrCat("std::vector<c10::optional<at::Tensor>>{", joined, "}");
  }
  if (element == "int" || element == "SymInt") {
    // An IntArrayRef of a braced list lives only as long as the call it is an
    // argument of; anywhere else (declarations, returns) use a vector.
    bool literal = a.IsLiteral() && !vector_lists && !type.empty();
    std::string ints = literal ? absl::StrCat("at::IntArrayRef({", joined, "})")
                               : absl::StrCat("std::vector<int64_t>{", joined, "}");
    if (element == "SymInt") return absl::StrCat("c10::fromIntArrayRefUnchecked(", ints, ")");
    if (literal || vector_lists || type.empty()) return ints;
    return absl::StrCat("at::IntArrayRef(", ints, ")");
  }
  if (a.elements().empty() && element.empty()) return std::string("{}");  // typed by the use
  return absl::UnimplementedError(absl::StrCat("no C++ form for a list of type '", type, "'"));
}

}  // namespace featx
