#include "codegen/cpp.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"
#include "graph/text.h"

namespace featx {

namespace {

constexpr const char* kCppKeywords[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char16_t", "char32_t", "class", "compl", "const", "constexpr",
    "const_cast", "continue", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "return", "short", "signed", "sizeof", "static", "static_assert",
    "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true",
    "try", "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void",
    "volatile", "wchar_t", "while", "xor", "xor_eq", "at", "c10", "std", "torch",
};

// Text safe inside a // comment: printable ASCII only, no line continuation.
std::string CommentText(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A C++ string literal; CEscape escapes quotes, backslashes and non-ASCII
// bytes, and a "" break keeps a following hex digit out of an escape.
std::string StringLiteral(absl::string_view s) {
  std::string escaped = absl::CEscape(s);
  return absl::StrCat("\"", escaped, "\"");
}

// ------------------------------------------------------------ schemas

struct Param {
  std::string type;  // alias annotations removed: "Tensor", "int[]", "Tensor?[]"
  std::string name;
  bool kwarg_only = false;
};

struct Schema {
  std::string name;      // "aten::add"
  std::string overload;  // "Tensor"
  std::vector<Param> params;
  bool vararg = false;
};

// Removes alias annotations: "Tensor(a!)" -> "Tensor", "Tensor(a)[]" -> "Tensor[]".
std::string StripAlias(absl::string_view type) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c == '(' && i > 0 && absl::ascii_isalpha(static_cast<unsigned char>(type[i - 1]))) {
      depth = 1;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      continue;
    }
    out += c;
  }
  return out;
}

// Splits at top-level commas.
std::vector<std::string> SplitTopLevel(absl::string_view s) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string current;
  for (char c : s) {
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(std::string(absl::StripAsciiWhitespace(current)));
      current.clear();
      continue;
    }
    current += c;
  }
  if (!absl::StripAsciiWhitespace(current).empty()) {
    parts.push_back(std::string(absl::StripAsciiWhitespace(current)));
  }
  return parts;
}

absl::StatusOr<Schema> ParseSchema(absl::string_view text) {
  Schema schema;
  size_t open = text.find('(');
  size_t arrow = text.rfind("->");
  if (open == absl::string_view::npos || arrow == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read schema '", text, "'"));
  }
  absl::string_view qualified = text.substr(0, open);
  size_t dot = qualified.find('.', qualified.find("::"));
  schema.name = std::string(qualified.substr(0, dot));
  if (dot != absl::string_view::npos) schema.overload = std::string(qualified.substr(dot + 1));
  size_t close = text.rfind(')', arrow);
  bool kwarg_only = false;
  for (const std::string& part : SplitTopLevel(text.substr(open + 1, close - open - 1))) {
    if (part == "*") {
      kwarg_only = true;
      continue;
    }
    if (part == "...") {
      schema.vararg = true;
      continue;
    }
    std::string decl = part.substr(0, part.find('='));
    size_t space = decl.find_last_of(' ');
    Param p;
    p.type = StripAlias(absl::StripAsciiWhitespace(decl.substr(0, space)));
    p.name = std::string(absl::StripAsciiWhitespace(decl.substr(space + 1)));
    p.kwarg_only = kwarg_only;
    schema.params.push_back(std::move(p));
  }
  return schema;
}

// at::_ops struct name: aten::add.Tensor -> add_Tensor.
std::string OpsStruct(const Schema& s) {
  std::string base = s.name.substr(s.name.find("::") + 2);
  return s.overload.empty() ? base : absl::StrCat(base, "_", s.overload);
}

// ------------------------------------------------------------ types

bool EndsWithList(absl::string_view type) {
  return absl::EndsWith(type, "]") && type.find('[') != absl::string_view::npos;
}

absl::string_view ListElement(absl::string_view type) {
  return type.substr(0, type.rfind('['));
}

// The C++ type of a value of TorchScript type `type` (node types, as the
// tracer spells them), for declarations.
absl::StatusOr<std::string> CppType(absl::string_view type) {
  if (type == "Tensor") return std::string("at::Tensor");
  if (type == "int" || type == "SymInt") return std::string("int64_t");
  if (type == "float") return std::string("double");
  if (type == "bool") return std::string("bool");
  if (type == "str") return std::string("std::string");
  if (type == "List[int]" || type == "int[]") return std::string("std::vector<int64_t>");
  if (type == "List[Tensor]" || type == "Tensor[]") return std::string("std::vector<at::Tensor>");
  if (type == "Optional[Tensor]" || type == "Tensor?") {
    return std::string("c10::optional<at::Tensor>");
  }
  return absl::UnimplementedError(absl::StrCat("no C++ type for '", type, "'"));
}

// ------------------------------------------------------------ the emitter

class Emitter {
 public:
  explicit Emitter(const CppExtractorInput& input) : input_(input) {}

  absl::StatusOr<CppSource> Run() {
    for (const std::string& w : input_.weights) {
      weight_members_[w] = absl::StrCat(names_.Unique("w_" + w), "_");
    }
    std::string body;
    ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(*input_.graph, 1, &body));
    CppSource out;
    out.fingerprint = Fingerprint();
    out.header = Header(out.fingerprint);
    out.source = Source(body, results, out.fingerprint);
    return out;
  }

 private:
  // ---- statements

  std::string Indent(int depth) const { return std::string(2 * depth, ' '); }

  std::string Comment(const Node& n) const {
    std::string what = n.op() == OpCode::kCallModule
                           ? absl::StrCat(" (", CommentText(ShortClass(n.module_type())), ")")
                           : "";
    return absl::StrCat("// ", CommentText(n.name()), what);
  }

  static std::string ShortClass(const std::string& qualified) {
    return qualified.substr(qualified.rfind('.') + 1);
  }

  // Emits the nodes of `g` (not its placeholders) into *out and returns the
  // expressions of its output node's arguments.
  absl::StatusOr<std::vector<std::string>> EmitGraph(const Graph& g, int depth,
                                                     std::string* out) {
    // Last use of each tensor within `g`, counting uses inside blocks at the
    // position of the node that owns them.
    absl::flat_hash_map<const Node*, int> last_use;
    for (const auto& node : g.nodes()) {
      for (Node* user : node->users()) {
        const Node* at = user;
        while (at != nullptr && at->owner() != &g) {
          at = at->owner()->parent();
        }
        if (at != nullptr) last_use[node.get()] = std::max(last_use[node.get()], g.IndexOf(at));
      }
    }
    std::vector<std::vector<const Node*>> release_after(g.size());
    for (const auto& [node, index] : last_use) {
      if (node->op() != OpCode::kPlaceholder && node->op() != OpCode::kGetAttr &&
          node->type() == "Tensor" && g.nodes()[index]->op() != OpCode::kOutput) {
        release_after[index].push_back(node);
      }
    }
    for (size_t i = 0; i < g.size(); ++i) {
      const Node& n = *g.nodes()[i];
      if (n.op() == OpCode::kOutput) {
        std::vector<std::string> results;
        for (const Argument& a : n.args()) {
          ASSIGN_OR_RETURN(std::string e, Expr(a, ""));
          results.push_back(e);
        }
        return results;
      }
      absl::Status s = EmitNode(n, depth, out);
      if (!s.ok()) {
        return absl::UnimplementedError(absl::StrCat(
            "cannot emit C++ for node '", n.name(), "' (",
            n.target().empty() ? std::string(OpCodeName(n.op())) : n.target(), "): ", s.message()));
      }
      // Sorted by name: the release order must not depend on pointer values.
      std::vector<std::string> released;
      for (const Node* r : release_after[i]) released.push_back(vars_.at(r));
      std::sort(released.begin(), released.end());
      for (const std::string& v : released) absl::StrAppend(out, Indent(depth), v, ".reset();\n");
    }
    return absl::InternalError("graph has no output node");
  }

  std::string NewVar(const Node& n) {
    std::string var = names_.Unique(n.name().empty() ? "v" : n.name());
    vars_[&n] = var;
    return var;
  }

  absl::Status EmitNode(const Node& n, int depth, std::string* out) {
    std::string ind = Indent(depth);
    switch (n.op()) {
      case OpCode::kPlaceholder: {
        if (depth != 1) return absl::UnimplementedError("block inputs are not supported");
        std::string var = NewVar(n);
        inputs_.push_back(var);
        return absl::OkStatus();
      }
      case OpCode::kGetAttr: {
        auto it = weight_members_.find(n.target());
        if (it == weight_members_.end()) return absl::InternalError("weight not in the list");
        vars_[&n] = it->second;
        return absl::OkStatus();
      }
      case OpCode::kCallModule:
      case OpCode::kCallFunction: {
        if (n.blocks().size() == 1) return EmitBody(n, depth, out);
        if (n.op() == OpCode::kCallModule || !n.IsOperator()) {
          return absl::UnimplementedError("a leaf call without its traced body");
        }
        return EmitOperator(n, depth, out);
      }
      case OpCode::kIf:
        return EmitIf(n, depth, out);
      default:
        return absl::UnimplementedError(absl::StrCat(OpCodeName(n.op()), " is not supported"));
    }
  }

  // A leaf's inlined body, as an immediately invoked lambda.
  absl::Status EmitBody(const Node& n, int depth, std::string* out) {
    std::string var = NewVar(n);
    std::string inner;
    ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(*n.blocks()[0], depth + 1, &inner));
    absl::StrAppend(out, Indent(depth), Comment(n), "\n", Indent(depth), "auto ", var,
                    " = [&] {\n", inner, Indent(depth + 1), "return ", Pack(results), ";\n",
                    Indent(depth), "}();\n");
    return absl::OkStatus();
  }

  static std::string Pack(const std::vector<std::string>& results) {
    if (results.size() == 1) return results[0];
    return absl::StrCat("std::make_tuple(", absl::StrJoin(results, ", "), ")");
  }

  absl::Status EmitIf(const Node& n, int depth, std::string* out) {
    ASSIGN_OR_RETURN(std::string cond, Expr(n.args()[0], "bool"));
    std::string ind = Indent(depth);
    std::string then_body, else_body;
    ASSIGN_OR_RETURN(std::vector<std::string> then_results,
                     EmitGraph(*n.blocks()[0], depth + 2, &then_body));
    ASSIGN_OR_RETURN(std::vector<std::string> else_results,
                     EmitGraph(*n.blocks()[1], depth + 2, &else_body));
    std::string var = NewVar(n);
    if (then_results.empty()) {
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "if (", cond, ") {\n");
      // Re-indent: the branches were emitted two levels deeper for the lambda form.
      absl::StrAppend(out, Dedent(then_body), ind, "} else {\n", Dedent(else_body), ind, "}\n");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string type, CppType(n.type()));
    absl::StrAppend(out, ind, Comment(n), "\n", ind, type, " ", var, " = [&]() -> ", type,
                    " {\n", ind, "  if (", cond, ") {\n", then_body, ind, "    return ",
                    Pack(then_results), ";\n", ind, "  }\n", else_body, ind, "  return ",
                    Pack(else_results), ";\n", ind, "}();\n");
    return absl::OkStatus();
  }

  static std::string Dedent(const std::string& text) {
    std::string out;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      absl::ConsumePrefix(&line, "  ");
      absl::StrAppend(&out, line, "\n");
    }
    return out;
  }

  // ---- operators

  absl::Status EmitOperator(const Node& n, int depth, std::string* out) {
    std::string ind = Indent(depth);
    if (n.target() == "prim::TupleIndex") {
      ASSIGN_OR_RETURN(std::string tuple, Expr(n.args()[0], ""));
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = std::get<",
                      n.args()[1].int_value(), ">(", tuple, ");\n");
      return absl::OkStatus();
    }
    auto info = input_.operators.find(n.target());
    if (info == input_.operators.end()) return absl::InternalError("no schema for the operator");
    ASSIGN_OR_RETURN(Schema schema, ParseSchema(info->second.schema));
    if (schema.vararg || n.args().size() > schema.params.size()) {
      if (!info->second.aten && schema.name == "aten::format") return EmitFormat(n, depth, out);
      return absl::UnimplementedError("variadic operator");
    }
    std::vector<std::string> args;
    for (size_t i = 0; i < n.args().size(); ++i) {
      ASSIGN_OR_RETURN(std::string e, Expr(n.args()[i], schema.params[i].type));
      args.push_back(std::move(e));
    }
    if (info->second.aten) {
      // In-place variants live in the out-of-place operator's header (add_ in add_ops.h).
      std::string header = schema.name.substr(schema.name.find("::") + 2);
      if (absl::StartsWith(header, "__") && absl::EndsWith(header, "__")) {
        header = header.substr(2, header.size() - 4);  // __and__ in and_ops.h
      } else if (absl::EndsWith(header, "_")) {
        header.pop_back();
      }
      ops_headers_.insert(header);
      std::string call =
          absl::StrCat("at::_ops::", OpsStruct(schema), "::call(", absl::StrJoin(args, ", "), ")");
      if (n.type() == "NoneType") {
        absl::StrAppend(out, ind, Comment(n), "\n", ind, call, ";\n");
        vars_[&n] = "c10::nullopt";
        return absl::OkStatus();
      }
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = ", call, ";\n");
      return absl::OkStatus();
    }
    return EmitBuiltin(n, schema, args, depth, out);
  }

  // TorchScript builtins that are not ATen operators: scalar and list
  // arithmetic on sizes, and raising errors.
  absl::Status EmitBuiltin(const Node& n, const Schema& schema, const std::vector<std::string>& a,
                           int depth, std::string* out) {
    std::string ind = Indent(depth);
    std::string target = n.target();
    static const std::map<std::string, std::string> kBinary = {
        {"aten::add.int", "+"}, {"aten::sub.int", "-"}, {"aten::mul.int", "*"},
        {"aten::eq.int", "=="}, {"aten::ne.int", "!="}, {"aten::lt.int", "<"},
        {"aten::le.int", "<="}, {"aten::gt.int", ">"},  {"aten::ge.int", ">="},
        {"aten::add.float", "+"}, {"aten::sub.float", "-"}, {"aten::mul.float", "*"},
        {"aten::div.float", "/"}, {"aten::eq.str", "=="}, {"aten::ne.str", "!="},
    };
    std::string expr;
    if (auto it = kBinary.find(target); it != kBinary.end()) {
      expr = absl::StrCat("(", a[0], " ", it->second, " ", a[1], ")");
    } else if (target == "aten::floordiv.int") {
      expr = absl::StrCat("FloorDiv(", a[0], ", ", a[1], ")");
      helpers_.insert("floordiv");
    } else if (target == "aten::remainder.int") {
      expr = absl::StrCat("Remainder(", a[0], ", ", a[1], ")");
      helpers_.insert("remainder");
    } else if (target == "aten::pow.int_float") {
      expr = absl::StrCat("std::pow(static_cast<double>(", a[0], "), ", a[1], ")");
    } else if (target == "aten::__not__") {
      expr = absl::StrCat("!", a[0]);
    } else if (target == "aten::dim") {
      expr = absl::StrCat("static_cast<int64_t>(", a[0], ".dim())");
    } else if (target == "aten::size") {
      expr = absl::StrCat(a[0], ".sizes().vec()");
    } else if (target == "aten::len.t") {
      expr = absl::StrCat("static_cast<int64_t>(", a[0], ".size())");
    } else if (target == "aten::__getitem__.t") {
      expr = absl::StrCat("GetItem(", a[0], ", ", a[1], ")");
      helpers_.insert("getitem");
    } else if (target == "aten::Bool.Tensor") {
      expr = absl::StrCat(a[0], ".item<bool>()");
    } else if (target == "aten::Int.Tensor") {
      expr = absl::StrCat(a[0], ".item<int64_t>()");
    } else if (target == "aten::Float.Tensor") {
      expr = absl::StrCat(a[0], ".item<double>()");
    } else if (target == "aten::add.str") {
      expr = absl::StrCat("(std::string(", a[0], ") + ", a[1], ")");
    } else if (target == "prim::RaiseException") {
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "TORCH_CHECK(false, ", a[0], ");\n");
      vars_[&n] = "c10::nullopt";
      return absl::OkStatus();
    } else {
      return absl::UnimplementedError(
          absl::StrCat("'", schema.name, ".", schema.overload, "' is neither an ATen operator "
                       "nor a TorchScript builtin featx can emit"));
    }
    absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = ", expr, ";\n");
    return absl::OkStatus();
  }

  absl::Status EmitFormat(const Node& n, int depth, std::string* out) {
    std::vector<std::string> args;
    for (const Argument& a : n.args()) {
      ASSIGN_OR_RETURN(std::string e, Expr(a, ""));
      args.push_back(e);
    }
    helpers_.insert("format");
    std::string ind = Indent(depth);
    absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = Format(",
                    absl::StrJoin(args, ", "), ");\n");
    return absl::OkStatus();
  }

  // ---- argument expressions

  absl::StatusOr<std::string> NodeExpr(const Node* node) const {
    auto it = vars_.find(node);
    if (it == vars_.end()) return absl::InternalError("value used before it is emitted");
    return it->second;
  }

  // The C++ expression for argument `a` passed as a parameter of schema type
  // `type` ("" when unknown).
  absl::StatusOr<std::string> Expr(const Argument& a, absl::string_view type) {
    if (absl::EndsWith(type, "?")) {
      if (a.kind() == Argument::Kind::kNone) return std::string("c10::nullopt");
      type.remove_suffix(1);
    }
    switch (a.kind()) {
      case Argument::Kind::kNode: {
        ASSIGN_OR_RETURN(std::string v, NodeExpr(a.node()));
        if (type == "SymInt") return absl::StrCat("c10::SymInt(", v, ")");
        if (type == "SymInt[]") return absl::StrCat("c10::fromIntArrayRefUnchecked(", v, ")");
        if (type == "Scalar") return absl::StrCat("at::Scalar(", v, ")");
        return v;
      }
      case Argument::Kind::kNone:
        if (type == "Tensor") return std::string("at::Tensor()");
        return std::string("c10::nullopt");
      case Argument::Kind::kBool:
        if (type == "Scalar") return absl::StrCat("at::Scalar(", a.bool_value() ? "true" : "false", ")");
        return std::string(a.bool_value() ? "true" : "false");
      case Argument::Kind::kInt: {
        std::string v = absl::StrCat("int64_t{", a.int_value(), "}");
        if (a.int_value() == INT64_MIN) v = "std::numeric_limits<int64_t>::min()";
        if (type == "ScalarType") return absl::StrCat("static_cast<at::ScalarType>(", a.int_value(), ")");
        if (type == "Layout") return absl::StrCat("static_cast<at::Layout>(", a.int_value(), ")");
        if (type == "MemoryFormat") {
          return absl::StrCat("static_cast<at::MemoryFormat>(", a.int_value(), ")");
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
        if (type == "str" || type.empty()) return StringLiteral(a.string_value());
        return StringLiteral(a.string_value());
      case Argument::Kind::kDevice:
        return absl::StrCat("at::Device(", StringLiteral(a.string_value()), ")");
      case Argument::Kind::kTuple: {
        std::vector<std::string> parts;
        for (const Argument& e : a.elements()) {
          ASSIGN_OR_RETURN(std::string p, Expr(e, ""));
          parts.push_back(p);
        }
        return absl::StrCat("std::make_tuple(", absl::StrJoin(parts, ", "), ")");
      }
      case Argument::Kind::kList:
        return ListExpr(a, type);
    }
    return absl::InternalError("unknown argument kind");
  }

  absl::StatusOr<std::string> ListExpr(const Argument& a, absl::string_view type) {
    absl::string_view element = EndsWithList(type) ? ListElement(type) : absl::string_view();
    if (element.empty() && !a.elements().empty()) {
      // Unknown parameter type: infer from the first literal element.
      element = a.elements()[0].kind() == Argument::Kind::kDouble ? "float"
                : a.elements()[0].kind() == Argument::Kind::kNode  ? "Tensor"
                : a.elements()[0].kind() == Argument::Kind::kBool  ? "bool"
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
      if (element == "Tensor?") e_type = "Tensor?";
      ASSIGN_OR_RETURN(std::string p, Expr(e, e_type));
      parts.push_back(p);
    }
    std::string joined = absl::StrJoin(parts, ", ");
    if (element == "Tensor") return absl::StrCat("std::vector<at::Tensor>{", joined, "}");
    if (element == "Tensor?") {
      return absl::StrCat("c10::List<c10::optional<at::Tensor>>({", joined, "})");
    }
    if (element == "float") return absl::StrCat("std::vector<double>{", joined, "}");
    if (absl::StartsWith(type, "bool[")) {
      std::string n(type.substr(5, type.size() - 6));
      return absl::StrCat("std::array<bool, ", n, ">{", joined, "}");
    }
    if (element == "int" || element == "SymInt") {
      bool literal = a.IsLiteral();
      std::string ints = literal ? absl::StrCat("at::IntArrayRef({", joined, "})")
                                 : absl::StrCat("std::vector<int64_t>{", joined, "}");
      if (literal && element == "SymInt") {
        return absl::StrCat("c10::fromIntArrayRefUnchecked(", ints, ")");
      }
      if (literal) return ints;
      if (element == "SymInt") return absl::StrCat("c10::fromIntArrayRefUnchecked(", ints, ")");
      return absl::StrCat("at::IntArrayRef(", ints, ")");
    }
    return absl::UnimplementedError(absl::StrCat("no C++ form for a list of type '", type, "'"));
  }

  // ---- files

  std::string Fingerprint() const {
    // FNV-1a over everything the generated code depends on.
    std::string text = PrintGraph(*input_.graph);
    absl::StrAppend(&text, "\nkeys:", absl::StrJoin(input_.keys, "\n"), "\nweights:",
                    absl::StrJoin(input_.weights, "\n"), "\nversion:", kWeightsFormatVersion);
    uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
  }

  std::vector<std::string> FieldNames() {
    Namespace fields;
    fields.Unique("ToDict");  // the struct's method
    std::vector<std::string> result;
    for (const std::string& key : input_.keys) result.push_back(fields.Unique(key));
    return result;
  }

  std::string Guard() const {
    std::string g = absl::AsciiStrToUpper(absl::StrCat("FEATX_GENERATED_", input_.stem, "_H_"));
    for (char& c : g) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return g;
  }

  std::string NamespaceOpen() const {
    std::string out;
    for (absl::string_view part : absl::StrSplit(input_.namespace_name, "::", absl::SkipEmpty())) {
      absl::StrAppend(&out, "namespace ", part, " {\n");
    }
    return out;
  }

  std::string NamespaceClose() const {
    std::vector<absl::string_view> parts =
        absl::StrSplit(input_.namespace_name, "::", absl::SkipEmpty());
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      absl::StrAppend(&out, "}  // namespace ", *it, "\n");
    }
    return out;
  }

  std::string Params() const {
    std::vector<std::string> params;
    for (const std::string& in : inputs_) params.push_back("const at::Tensor& " + in + "_in");
    return absl::StrJoin(params, ", ");
  }

  std::string Header(const std::string& fingerprint) {
    std::vector<std::string> fields = FieldNames();
    std::string out = absl::StrCat(
        "// Generated by featx from ", CommentText(input_.model_file), ". DO NOT EDIT.\n//\n",
        "// A feature extractor that depends only on LibTorch. Load its weights once,\n",
        "// then call it:\n//   auto f = ", input_.namespace_name, "::", input_.class_name,
        "::Load(\"", CommentText(input_.stem), ".weights\");\n//   auto features = f(x);\n",
        "// Fingerprint ", fingerprint, ".\n\n#ifndef ", Guard(), "\n#define ", Guard(),
        "\n\n#include <string>\n\n#include <ATen/core/Dict.h>\n#include <ATen/core/Tensor.h>\n\n",
        NamespaceOpen(), "\nclass ", input_.class_name, " {\n public:\n  struct Features {\n");
    for (size_t i = 0; i < fields.size(); ++i) {
      absl::StrAppend(&out, "    at::Tensor ", fields[i], ";  // ", CommentText(input_.keys[i]),
                      "\n");
    }
    absl::StrAppend(&out,
                    "\n    // The features under their output keys, in order.\n"
                    "    c10::Dict<std::string, at::Tensor> ToDict() const;\n  };\n\n"
                    "  // Reads the weights file written with this source. Throws c10::Error if\n"
                    "  // it is missing, truncated, or made for other generated code.\n  static ",
                    input_.class_name, " Load(const std::string& weights_path);\n\n",
                    "  // Runs the extractor (inference mode; the model's eval graph).\n",
                    "  Features operator()(", Params(), ") const;\n\n private:\n");
    for (const std::string& w : input_.weights) {
      absl::StrAppend(&out, "  at::Tensor ", weight_members_.at(w), ";  // ", CommentText(w),
                      "\n");
    }
    absl::StrAppend(&out, "};\n\n", NamespaceClose(), "\n#endif  // ", Guard(), "\n");
    return out;
  }

  std::string Helpers() const {
    std::string out;
    if (helpers_.count("floordiv")) {
      out +=
          "// Python's // on ints: rounds toward negative infinity.\n"
          "int64_t FloorDiv(int64_t a, int64_t b) {\n"
          "  TORCH_CHECK(b != 0, \"integer division by zero\");\n"
          "  int64_t q = a / b;\n  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;\n}\n\n";
    }
    if (helpers_.count("remainder")) {
      out +=
          "// Python's % on ints: takes the sign of the divisor.\n"
          "int64_t Remainder(int64_t a, int64_t b) {\n"
          "  TORCH_CHECK(b != 0, \"integer modulo by zero\");\n"
          "  int64_t r = a % b;\n  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}\n\n";
    }
    if (helpers_.count("getitem")) {
      out +=
          "// list[i] with Python's negative indices.\n"
          "template <typename T>\nT GetItem(const std::vector<T>& list, int64_t i) {\n"
          "  int64_t n = static_cast<int64_t>(list.size());\n"
          "  TORCH_CHECK(i >= -n && i < n, \"list index out of range\");\n"
          "  return list[i < 0 ? i + n : i];\n}\n\n";
    }
    if (helpers_.count("format")) {
      out +=
          "// str.format with positional {} fields, for error messages.\n"
          "template <typename T>\nstd::ostream& operator<<(std::ostream& os, const std::vector<T>& v) {\n"
          "  os << \"[\";\n  for (size_t i = 0; i < v.size(); ++i) os << (i ? \", \" : \"\") << v[i];\n"
          "  return os << \"]\";\n}\n"
          "template <typename... Args>\nstd::string Format(const std::string& pattern, const Args&... args) {\n"
          "  std::ostringstream os;\n  size_t pos = 0;\n"
          "  auto one = [&](const auto& value) {\n"
          "    size_t field = pattern.find(\"{}\", pos);\n"
          "    if (field == std::string::npos) return;\n"
          "    os << pattern.substr(pos, field - pos) << value;\n    pos = field + 2;\n  };\n"
          "  (one(args), ...);\n  os << pattern.substr(pos);\n  return os.str();\n}\n\n";
    }
    return out;
  }

  std::string Source(const std::string& body, const std::vector<std::string>& results,
                     const std::string& fingerprint) {
    std::vector<std::string> fields = FieldNames();
    std::string cls = input_.class_name;
    std::string out = absl::StrCat("// Generated by featx from ", CommentText(input_.model_file),
                                   ". DO NOT EDIT.\n\n#include \"", input_.stem, ".h\"\n\n",
                                   "#include <cmath>\n#include <cstdint>\n#include <fstream>\n",
                                   "#include <iterator>\n#include <limits>\n#include <sstream>\n",
                                   "#include <tuple>\n#include <vector>\n\n");
    for (const std::string& op : ops_headers_) {
      absl::StrAppend(&out, "#include <ATen/ops/", op, "_ops.h>\n");
    }
    absl::StrAppend(&out,
                    "#include <c10/core/InferenceMode.h>\n#include <c10/util/Exception.h>\n"
                    "#include <torch/csrc/jit/serialization/pickle.h>\n\n",
                    NamespaceOpen(), "\nnamespace {\n\nconstexpr int64_t kFormatVersion = ",
                    kWeightsFormatVersion, ";\nconstexpr char kFingerprint[] = \"", fingerprint,
                    "\";\n\n", Helpers(), "}  // namespace\n\n");
    // ToDict
    absl::StrAppend(&out, "c10::Dict<std::string, at::Tensor> ", cls,
                    "::Features::ToDict() const {\n  c10::Dict<std::string, at::Tensor> dict;\n");
    for (size_t i = 0; i < fields.size(); ++i) {
      absl::StrAppend(&out, "  dict.insert(", StringLiteral(input_.keys[i]), ", ", fields[i],
                      ");\n");
    }
    absl::StrAppend(&out, "  return dict;\n}\n\n");
    // Load
    absl::StrAppend(
        &out, cls, " ", cls, "::Load(const std::string& weights_path) {\n",
        "  std::ifstream in(weights_path, std::ios::binary);\n",
        "  TORCH_CHECK(in.good(), \"cannot open weights file '\", weights_path, \"'\");\n",
        "  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());\n",
        "  c10::IValue file;\n  try {\n    file = torch::jit::pickle_load(bytes);\n",
        "  } catch (const c10::Error& e) {\n",
        "    TORCH_CHECK(false, \"weights file '\", weights_path, \"' is not readable: \", e.what_without_backtrace());\n",
        "  }\n  TORCH_CHECK(file.isGenericDict(), \"weights file '\", weights_path, \"' is not a featx weights file\");\n",
        "  c10::impl::GenericDict dict = file.toGenericDict();\n",
        "  TORCH_CHECK(dict.contains(\"format_version\") && dict.at(\"format_version\").isInt() &&\n",
        "                  dict.at(\"format_version\").toInt() == kFormatVersion,\n",
        "              \"weights file '\", weights_path, \"' has an unsupported format version\");\n",
        "  TORCH_CHECK(dict.contains(\"fingerprint\") && dict.at(\"fingerprint\").isString() &&\n",
        "                  dict.at(\"fingerprint\").toStringRef() == kFingerprint,\n",
        "              \"weights file '\", weights_path, \"' was written for different generated code \"\n",
        "              \"(fingerprint mismatch); regenerate both together\");\n",
        "  TORCH_CHECK(dict.contains(\"tensors\") && dict.at(\"tensors\").isGenericDict(),\n",
        "              \"weights file '\", weights_path, \"' has no tensors\");\n",
        "  c10::impl::GenericDict tensors = dict.at(\"tensors\").toGenericDict();\n",
        "  auto get = [&](const char* name) {\n",
        "    TORCH_CHECK(tensors.contains(name) && tensors.at(name).isTensor(), \"weights file '\",\n",
        "                weights_path, \"' lacks tensor '\", name, \"'\");\n",
        "    return tensors.at(name).toTensor();\n  };\n  ", cls, " extractor;\n");
    for (const std::string& w : input_.weights) {
      absl::StrAppend(&out, "  extractor.", weight_members_.at(w), " = get(", StringLiteral(w),
                      ");\n");
    }
    absl::StrAppend(&out, "  return extractor;\n}\n\n");
    // operator()
    absl::StrAppend(&out, cls, "::Features ", cls, "::operator()(", Params(), ") const {\n",
                    "  c10::InferenceMode inference_mode;\n");
    for (const std::string& in : inputs_) {
      absl::StrAppend(&out, "  at::Tensor ", in, " = ", in, "_in;\n");
    }
    absl::StrAppend(&out, body, "  Features features;\n");
    for (size_t i = 0; i < fields.size(); ++i) {
      absl::StrAppend(&out, "  features.", fields[i], " = ", results[i], ";\n");
    }
    absl::StrAppend(&out, "  return features;\n}\n\n", NamespaceClose());
    return out;
  }

  const CppExtractorInput& input_;
  Namespace names_;
  absl::flat_hash_map<const Node*, std::string> vars_;
  std::map<std::string, std::string> weight_members_;
  std::vector<std::string> inputs_;
  std::set<std::string> ops_headers_;
  std::set<std::string> helpers_;
};

}  // namespace

std::string Namespace::Unique(const std::string& name) {
  std::string id;
  for (unsigned char c : name) {
    char out = absl::ascii_isalnum(c) ? static_cast<char>(c) : '_';
    if (out == '_' && !id.empty() && id.back() == '_') continue;  // no reserved "__"
    id += out;
  }
  while (!id.empty() && id.front() == '_') id.erase(0, 1);
  if (id.empty() || absl::ascii_isdigit(static_cast<unsigned char>(id[0]))) id = "v" + id;
  for (const char* kw : kCppKeywords) {
    if (id == kw) {
      id += "_";
      break;
    }
  }
  int& count = used_[id];
  ++count;
  if (count == 1) return id;
  std::string candidate = absl::StrCat(id, "_", count);
  while (used_.count(candidate)) candidate = absl::StrCat(id, "_", ++count);
  used_[candidate] = 1;
  return candidate;
}

std::string SnakeCase(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    unsigned char c = camel[i];
    if (absl::ascii_isupper(c) && i > 0) {
      unsigned char prev = camel[i - 1];
      // The capitalized word starting here, and what follows it.
      size_t end = i + 1;
      while (end < camel.size() && absl::ascii_islower(camel[end])) ++end;
      bool short_versioned = end - i <= 3 && end < camel.size() && absl::ascii_isdigit(camel[end]);
      bool next_lower = i + 1 < camel.size() && absl::ascii_islower(camel[i + 1]);
      bool boundary = absl::ascii_isdigit(prev) ||
                      (absl::ascii_islower(prev) && !short_versioned) ||
                      (absl::ascii_isupper(prev) && next_lower);
      if (boundary) out += '_';
    }
    out += static_cast<char>(absl::ascii_tolower(c));
  }
  return out;
}

absl::StatusOr<CppSource> EmitCppExtractor(const CppExtractorInput& input) {
  if (input.graph == nullptr) return absl::InvalidArgumentError("no graph");
  if (input.graph->output() == nullptr ||
      input.graph->output()->args().size() != input.keys.size()) {
    return absl::InvalidArgumentError("the graph's outputs do not match the keys");
  }
  return Emitter(input).Run();
}

}  // namespace featx
