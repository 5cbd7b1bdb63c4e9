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
#include "codegen/builtins.h"
#include "codegen/cpp_optimize.h"
#include "base/status_macros.h"
#include "graph/text.h"
#include "pruning/dead_code.h"

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

// Text safe inside a // comment: printable ASCII only, no line continuation;
// other bytes are written as \xNN.
std::string CommentText(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    // A backslash could end the line and continue the comment onto the next.
    if (c == '\\' || c < 0x20 || c >= 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A C++ string literal; CEscape escapes quotes, backslashes and non-ASCII
// bytes (as octal escapes, which take at most three digits).
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
  for (const auto& [prefix, cpp] : {std::pair<absl::string_view, absl::string_view>{"List[", "std::vector"},
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

// ------------------------------------------------------------ the emitter

class Emitter {
 public:
  explicit Emitter(const CppExtractorInput& input) : input_(input) {}

  absl::StatusOr<CppSource> Run() {
    // Names the generated code itself uses; no model name may take them.
    for (const char* reserved :
         {"features", "Features", "inference_mode", "int64_t", "NULL", "errno", "linux", "unix",
          "assert", "FloorDiv", "Remainder", "GetItem", "SetItem", "SliceList", "ConcatLists",
          "Contains", "AllOf", "AnyOf", "Find", "Format", "kFormatVersion", "kFingerprint",
          "ListMax", "ListMin", "DictAt", "DictKeys", "DictValues", "DictFromPairs"}) {
      names_.Unique(reserved);
    }
    if (input_.optimize) {
      for (const char* reserved : {"optimized_", "Optimized", "PrepackedConv2d", "PrepackedOps", "Ops", "ToNchw"}) {
        names_.Unique(reserved);
      }
    }
    for (const std::string& w : input_.weights) {
      // The trailing '_' is part of the reserved name, so no local can shadow it.
      weight_members_[w] = names_.Unique("w_" + w + "_");
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
    // Every node is emitted: dead code, in leaf bodies too, is gone already
    // (EliminateDeadCode, the pass the TorchScript back end's graphs go through).
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
        if (vars_.contains(&n)) return absl::OkStatus();  // a loop's, bound by EmitLoop
        if (depth != 1) return absl::UnimplementedError("block inputs are not supported");
        std::string var = NewVar(n);
        inputs_.push_back({var, names_.Unique(var + "_in")});
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
      case OpCode::kLoop:
        return EmitLoop(n, depth, out);
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
      absl::StrAppend(out, Dedent(then_body));
      if (!else_body.empty()) absl::StrAppend(out, ind, "} else {\n", Dedent(else_body));
      absl::StrAppend(out, ind, "}\n");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string type, CppType(n.type()));
    ASSIGN_OR_RETURN(then_results, Coerce(*n.blocks()[0], then_results, n.type()));
    ASSIGN_OR_RETURN(else_results, Coerce(*n.blocks()[1], else_results, n.type()));
    absl::StrAppend(out, ind, Comment(n), "\n", ind, type, " ", var, " = [&]() -> ", type,
                    " {\n", ind, "  if (", cond, ") {\n", then_body, ind, "    return ",
                    Pack(then_results), ";\n", ind, "  }\n", else_body, ind, "  return ",
                    Pack(else_results), ";\n", ind, "}();\n");
    return absl::OkStatus();
  }

  // prim::Loop(trip_count, condition, carried...) as a for loop; the body's
  // placeholders are (iteration, carried...), its outputs (condition, carried...).
  absl::Status EmitLoop(const Node& n, int depth, std::string* out) {
    const Graph& body = *n.blocks()[0];
    std::vector<Node*> params = body.Placeholders();
    size_t carried = n.args().size() - 2;
    if (params.size() != carried + 1 || body.output()->args().size() != carried + 1) {
      return absl::InternalError("loop body does not match its carried values");
    }
    std::string ind = Indent(depth);
    ASSIGN_OR_RETURN(std::string trips, Expr(n.args()[0], "int"));
    ASSIGN_OR_RETURN(std::string cond, Expr(n.args()[1], "bool"));
    std::string var = NewVar(n);
    std::string go = names_.Unique(var + "_continue");
    std::string header = absl::StrCat(ind, "  bool ", go, " = ", cond, ";\n");
    std::vector<std::string> state;
    for (size_t k = 0; k < carried; ++k) {
      ASSIGN_OR_RETURN(std::string init, Expr(n.args()[k + 2], ""));
      std::string v = NewVar(*params[k + 1]);
      absl::StrAppend(&header, ind, "  auto ", v, " = ", init, ";\n");
      state.push_back(v);
    }
    std::string i = NewVar(*params[0]);
    std::string inner;
    ASSIGN_OR_RETURN(std::vector<std::string> results, EmitGraph(body, depth + 2, &inner));
    absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", var, " = [&] {\n", header, ind,
                    "  for (int64_t ", i, " = 0; ", go, " && ", i, " < ", trips, "; ++", i,
                    ") {\n", inner);
    // Assign through temporaries: a result may read another carried value.
    std::vector<std::string> next;
    for (size_t k = 0; k < results.size(); ++k) {
      next.push_back(names_.Unique(absl::StrCat(var, "_next")));
      absl::StrAppend(out, ind, "    auto ", next[k], " = ", results[k], ";\n");
    }
    absl::StrAppend(out, ind, "    ", go, " = ", next[0], ";\n");
    for (size_t k = 0; k < carried; ++k) {
      absl::StrAppend(out, ind, "    ", state[k], " = ", next[k + 1], ";\n");
    }
    absl::StrAppend(out, ind, "  }\n", ind, "  return ", state.empty() ? "c10::nullopt" : Pack(state),
                    ";\n", ind, "}();\n");
    if (state.empty()) {
      // Nothing carried: the lambda's value is a placeholder nobody reads.
      absl::StrAppend(out, ind, "static_cast<void>(", var, ");\n");
      vars_[&n] = "c10::nullopt";
    }
    return absl::OkStatus();
  }

  // Makes a branch's results fit the `if`'s declared types: an Optional that
  // TorchScript refined is unwrapped, and the placeholder value of a branch
  // that raises (prim::Uninitialized, folded to None) becomes a default value.
  absl::StatusOr<std::vector<std::string>> Coerce(const Graph& block,
                                                  std::vector<std::string> results,
                                                  const std::string& if_type) {
    std::vector<std::string> types;
    if (absl::StartsWith(if_type, "(")) {
      types = SplitTopLevel(absl::string_view(if_type).substr(1, if_type.size() - 2));
    } else {
      types.push_back(if_type);
    }
    const auto& outs = block.output()->args();
    for (size_t i = 0; i < results.size() && i < types.size() && i < outs.size(); ++i) {
      bool optional = absl::StartsWith(types[i], "Optional[") || absl::EndsWith(types[i], "?");
      if (outs[i].kind() == Argument::Kind::kNone && !optional && types[i] != "NoneType") {
        ASSIGN_OR_RETURN(std::string t, CppType(types[i]));
        results[i] = t + "{}";
      } else if (outs[i].is_node() && !optional &&
                 absl::StartsWith(outs[i].node()->type(), "Optional[")) {
        results[i] += ".value()";
      }
    }
    return results;
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
    if (input_.optimize) {
      if (std::optional<Conv2dCall> conv = MatchConv2d(n)) return EmitPrepackedConv(n, *conv, depth, out);
    }
    if (n.target() == "prim::TupleIndex") {
      ASSIGN_OR_RETURN(std::string tuple, Expr(n.args()[0], ""));
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = std::get<",
                      n.args()[1].int_value(), ">(", tuple, ");\n");
      return absl::OkStatus();
    }
    if (n.target() == "prim::DictConstruct") return EmitDictConstruct(n, depth, out);
    auto info = input_.operators.find(n.target());
    if (info == input_.operators.end()) return absl::InternalError("no schema for the operator");
    ASSIGN_OR_RETURN(Schema schema, ParseSchema(info->second.schema));
    if (schema.vararg || n.args().size() > schema.params.size()) {
      if (!info->second.aten && schema.name == "aten::format") return EmitFormat(n, depth, out);
      // Varargs operators need their JIT node to run; no boxed call.
      return absl::UnimplementedError("variadic operator");
    }
    std::vector<std::string> args;
    // Builtins take int lists as std::vector; ATen operators as IntArrayRef.
    vector_lists_ = !info->second.aten;
    for (size_t i = 0; i < n.args().size(); ++i) {
      absl::StatusOr<std::string> e = Expr(n.args()[i], schema.params[i].type);
      if (!e.ok()) {
        vector_lists_ = false;
        // No typed form for this argument: the registry takes any IValue.
        return EmitBoxed(n, schema, info->second, depth, out);
      }
      args.push_back(std::move(*e));
    }
    vector_lists_ = false;
    if (info->second.aten && !HasTypedForm(n, schema)) {
      return EmitBoxed(n, schema, info->second, depth, out);
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

  // A dict the tracer kept structural (constant keys) where a runtime value is
  // needed (an FPN leaf's argument): args are key, value, key, value, ...
  absl::Status EmitDictConstruct(const Node& n, int depth, std::string* out) {
    std::string ind = Indent(depth);
    ASSIGN_OR_RETURN(std::string type, CppType(n.type()));
    absl::string_view t = n.type();
    size_t comma = t.find(", ");
    if (!absl::StartsWith(t, "Dict[") || comma == absl::string_view::npos) {
      return absl::UnimplementedError(absl::StrCat("a dict of type ", n.type()));
    }
    std::string key_type(t.substr(5, comma - 5));
    std::string value_type(t.substr(comma + 2, t.size() - comma - 3));
    std::string var = NewVar(n);
    absl::StrAppend(out, ind, Comment(n), "\n", ind, type, " ", var, ";\n");
    for (size_t i = 0; i + 1 < n.args().size(); i += 2) {
      ASSIGN_OR_RETURN(std::string key, Expr(n.args()[i], key_type));
      ASSIGN_OR_RETURN(std::string value, Expr(n.args()[i + 1], value_type));
      absl::StrAppend(out, ind, var, ".insert(", key, ", ", value, ");\n");
    }
    return absl::OkStatus();
  }

  // A convolution of optimized code: a PrepackedConv2d member (cpp_optimize.h).
  absl::Status EmitPrepackedConv(const Node& n, const Conv2dCall& conv, int depth, std::string* out) {
    ASSIGN_OR_RETURN(std::string x, NodeExpr(conv.input));
    std::string member = conv_names_.Unique(n.name().empty() ? "conv" : n.name());
    convs_.emplace_back(member, PrepackedConvInit(conv, "extractor." + weight_members_.at(conv.weight),
                                                  conv.bias.empty() ? "" : "extractor." + weight_members_.at(conv.bias)));
    absl::StrAppend(out, Indent(depth), Comment(n), "\n", Indent(depth), "auto ", NewVar(n),
                    " = optimized_->", member, "(", x, ");\n");
    return absl::OkStatus();
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
        {"aten::eq.float", "=="}, {"aten::ne.float", "!="}, {"aten::lt.float", "<"},
        {"aten::le.float", "<="}, {"aten::gt.float", ">"}, {"aten::ge.float", ">="},
        {"aten::eq.bool", "=="}, {"aten::ne.bool", "!="}, {"aten::__and__.bool", "&&"},
        {"aten::__or__.bool", "||"}, {"aten::mul.float_int", "*"}, {"aten::mul.int_float", "*"},
        {"aten::add.float_int", "+"}, {"aten::add.int_float", "+"},
        {"aten::sub.float_int", "-"}, {"aten::sub.int_float", "-"},
    };
    static const std::map<std::string, std::string> kUnary = {
        {"aten::neg.int", "-"}, {"aten::neg.float", "-"}, {"aten::Float.int", "(double)"},
        {"aten::Int.float", "(int64_t)"}, {"aten::Int.bool", "(int64_t)"},
        {"aten::Float.bool", "(double)"}, {"aten::Bool.int", "(bool)"},
    };
    std::string expr;
    if (auto it = kBinary.find(target); it != kBinary.end()) {
      expr = absl::StrCat("(", a[0], " ", it->second, " ", a[1], ")");
    } else if (auto u = kUnary.find(target); u != kUnary.end()) {
      expr = absl::StrCat("(", u->second, "(", a[0], "))");
    } else if (target == "aten::div.int") {
      expr = absl::StrCat("(static_cast<double>(", a[0], ") / ", a[1], ")");
    } else if (target == "aten::floor.float" || target == "aten::ceil.float") {
      expr = absl::StrCat("static_cast<int64_t>(std::", target == "aten::floor.float" ? "floor" : "ceil",
                          "(", a[0], "))");
    } else if (target == "aten::abs.int") {
      expr = absl::StrCat("std::abs(", a[0], ")");
    } else if (target == "prim::min.int" || target == "prim::max.int") {
      expr = absl::StrCat("std::", target == "prim::min.int" ? "min" : "max", "<int64_t>(", a[0],
                          ", ", a[1], ")");
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
    } else if (target == "aten::slice.t") {
      expr = absl::StrCat("SliceList(", a[0], ", ", a[1], ", ", a[2], ", ", a[3], ")");
      helpers_.insert("slice");
    } else if (target == "aten::list.t") {
      ASSIGN_OR_RETURN(std::string elem_type, CppType(ListElementType(n.type())));
      ASSIGN_OR_RETURN(std::string list, ListValue(n.args()[0], elem_type));
      expr = list;
    } else if (target == "aten::append.t") {
      absl::StrAppend(out, ind, Comment(n), "\n", ind, a[0], ".push_back(", a[1], ");\n");
      vars_[&n] = vars_.at(n.args()[0].node());
      return absl::OkStatus();
    } else if (target == "aten::_set_item.t") {
      helpers_.insert("getitem");
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "SetItem(", a[0], ", ", a[1], ", ", a[2],
                      ");\n");
      vars_[&n] = vars_.at(n.args()[0].node());
      return absl::OkStatus();
    } else if (target == "aten::tensor.int" || target == "aten::tensor.float" ||
               target == "aten::tensor.bool") {
      // torch.tensor(<python number>): int64, the default float dtype, or bool.
      std::string fallback = target == "aten::tensor.int"   ? "at::kLong"
                             : target == "aten::tensor.bool" ? "at::kBool"
                                                             : "at::typeMetaToScalarType(at::get_default_dtype())";
      std::string dtype = a.size() > 1 && a[1] != "c10::nullopt"
                              ? a[1]
                              : fallback;
      std::string device = a.size() > 2 && a[2] != "c10::nullopt" ? a[2] : "at::kCPU";
      expr = absl::StrCat("at::scalar_tensor(at::Scalar(", a[0], "), at::TensorOptions().dtype(",
                          dtype, ").device(", device, "))");
      extra_includes_.insert("ATen/ops/scalar_tensor.h");
    } else if (target == "aten::sum.int") {
      expr = absl::StrCat("std::accumulate(", a[0], ".begin(), ", a[0], ".end(), int64_t{0})");
    } else if (target == "aten::add.t") {
      expr = absl::StrCat("ConcatLists(", a[0], ", ", a[1], ")");
      helpers_.insert("concat");
    } else if (target == "aten::eq.int_list" || target == "aten::ne.int_list") {
      expr = absl::StrCat("(", a[0], target == "aten::eq.int_list" ? " == " : " != ", a[1], ")");
    } else if (target == "aten::__contains__.int_list") {
      expr = absl::StrCat("Contains(", a[0], ", ", a[1], ")");
      helpers_.insert("contains");
    } else if (target == "aten::all.bool" || target == "aten::any.bool") {
      expr = absl::StrCat(target == "aten::all.bool" ? "AllOf(" : "AnyOf(", a[0], ")");
      helpers_.insert("allany");
    } else if (target == "aten::__is__" || target == "aten::__isnot__") {
      ASSIGN_OR_RETURN(expr, IsNone(n, target == "aten::__is__"));
    } else if (target == "aten::sqrt.int") {
      expr = absl::StrCat("std::sqrt(static_cast<double>(", a[0], "))");
    } else if (target == "aten::is_grad_enabled") {
      expr = "at::GradMode::is_enabled()";
    } else if (target == "aten::is_autocast_enabled") {
      expr = "at::autocast::is_enabled()";
      extra_includes_.insert("ATen/autocast_mode.h");
    } else if (target == "prim::is_cuda") {
      expr = absl::StrCat(a[0], ".is_cuda()");
    } else if (target == "prim::is_nested") {
      expr = absl::StrCat(a[0], ".is_nested()");
    } else if (target == "prim::requires_grad") {
      expr = absl::StrCat(a[0], ".requires_grad()");
    } else if (target == "prim::device") {
      expr = absl::StrCat(a[0], ".device()");
    } else if (target == "prim::dtype") {
      expr = absl::StrCat("static_cast<int64_t>(", a[0], ".scalar_type())");
    } else if (target == "aten::str") {
      expr = absl::StrCat("c10::str(", a[0], ")");
    } else if (target == "aten::len.str") {
      expr = absl::StrCat("static_cast<int64_t>(std::string(", a[0], ").size())");
    } else if (target == "aten::find") {
      expr = absl::StrCat("Find(", a[0], ", ", a[1], ", ", a[2], ", ", a[3], ")");
      helpers_.insert("find");
    } else if (target == "prim::Uninitialized") {
      // Only ever read on paths that raise; any value of the type will do.
      ASSIGN_OR_RETURN(std::string type, CppType(n.type()));
      expr = absl::StrCat(type, "{}");
    } else if (target == "aten::warn") {
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "TORCH_WARN(", a[0], ");\n");
      vars_[&n] = "c10::nullopt";
      return absl::OkStatus();
    } else if (target == "prim::RaiseException") {
      absl::StrAppend(out, ind, Comment(n), "\n", ind, "TORCH_CHECK(false, ", a[0], ");\n");
      vars_[&n] = "c10::nullopt";
      return absl::OkStatus();
    } else if (const BuiltinLowering* b = FindBuiltinLowering(target)) {
      return EmitTableBuiltin(n, *b, a, depth, out);
    } else if (input_.operators.count(target)) {
      return EmitBoxed(n, schema, input_.operators.at(target), depth, out);
    } else {
      return absl::UnimplementedError(
          absl::StrCat("'", schema.name, ".", schema.overload, "' is neither an ATen operator "
                       "nor a TorchScript builtin featx can emit"));
    }
    absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = ", expr, ";\n");
    return absl::OkStatus();
  }

  // "List[int]" / "int[]" -> "int".
  static std::string ListElementType(absl::string_view type) {
    if (absl::StartsWith(type, "List[")) return std::string(type.substr(5, type.size() - 6));
    if (absl::EndsWith(type, "[]")) return std::string(type.substr(0, type.size() - 2));
    return std::string(type);
  }

  // A mutable std::vector holding a list literal or a list node.
  absl::StatusOr<std::string> ListValue(const Argument& a, const std::string& elem_type) {
    if (a.is_node()) return NodeExpr(a.node());
    std::vector<std::string> parts;
    for (const Argument& e : a.elements()) {
      ASSIGN_OR_RETURN(std::string p, Expr(e, ""));
      parts.push_back(p);
    }
    return absl::StrCat("std::vector<", elem_type, ">{", absl::StrJoin(parts, ", "), "}");
  }

  // `x is None` / `x is not None`: constant for a value that cannot be None,
  // has_value() for an optional.
  absl::StatusOr<std::string> IsNone(const Node& n, bool is) {
    auto none = [](const Argument& a) {
      return a.kind() == Argument::Kind::kNone || (a.is_node() && a.node()->type() == "NoneType");
    };
    if (n.args().size() != 2) return absl::UnimplementedError("`is` needs two operands");
    const Argument* value = nullptr;
    if (none(n.args()[0])) {
      value = &n.args()[1];
    } else if (none(n.args()[1])) {
      value = &n.args()[0];
    } else if (n.args()[0].is_node() && n.args()[1].is_node() &&
               n.args()[0].node()->type() == "Tensor" && n.args()[1].node()->type() == "Tensor") {
      // Tensor identity (MultiheadAttention's `query is key`).
      ASSIGN_OR_RETURN(std::string a, NodeExpr(n.args()[0].node()));
      ASSIGN_OR_RETURN(std::string b, NodeExpr(n.args()[1].node()));
      return absl::StrCat(is ? "" : "!", a, ".is_same(", b, ")");
    } else {
      return absl::UnimplementedError("`is` between values that are neither None nor tensors");
    }
    if (none(*value)) return std::string(is ? "true" : "false");
    if (!value->is_node()) return std::string(is ? "false" : "true");
    const std::string& type = value->node()->type();
    if (absl::StartsWith(type, "Optional[") || absl::EndsWith(type, "?")) {
      ASSIGN_OR_RETURN(std::string v, NodeExpr(value->node()));
      return absl::StrCat(is ? "!" : "", v, ".has_value()");
    }
    return std::string(is ? "false" : "true");
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

  // An ATen operator whose at::_ops form the emitter cannot call with the
  // values it holds: an optional list held as c10::optional<std::vector>
  // does not convert to the c10::OptionalArrayRef the typed form takes.
  static bool HasTypedForm(const Node& n, const Schema& schema) {
    for (size_t i = 0; i < n.args().size() && i < schema.params.size(); ++i) {
      const std::string& type = schema.params[i].type;
      if (absl::EndsWith(type, "[]?") && n.args()[i].is_node()) return false;
    }
    return true;
  }

  // A builtin from the lowering table (builtins.cc).
  absl::Status EmitTableBuiltin(const Node& n, const BuiltinLowering& b,
                                const std::vector<std::string>& a, int depth, std::string* out) {
    std::string ind = Indent(depth);
    if (b.helper != nullptr) helpers_.insert(b.helper);
    if (b.include != nullptr) extra_includes_.insert(b.include);
    std::string type;
    if (n.type() != "NoneType") {
      ASSIGN_OR_RETURN(type, CppType(n.type()));
    }
    std::string expr = FillTemplate(b.expr, a, type);
    if (b.statement) {
      absl::StrAppend(out, ind, Comment(n), "\n", ind, expr, ";\n");
      if (n.type() == "NoneType" || n.args().empty() || !n.args()[0].is_node()) {
        vars_[&n] = "c10::nullopt";
      } else {
        vars_[&n] = vars_.at(n.args()[0].node());
      }
      return absl::OkStatus();
    }
    absl::StrAppend(out, ind, Comment(n), "\n", ind, "auto ", NewVar(n), " = ", expr, ";\n");
    return absl::OkStatus();
  }

  // An operator with no typed C++ form, called boxed through LibTorch's
  // registry: the c10 dispatcher for its operators, the JIT operator registry
  // for TorchScript builtins (prim::, and aten:: ones the dispatcher lacks).
  // The operator is looked up once (a function-local static); arguments go on
  // a stack of IValues and the results come back converted to the node's type.
  absl::Status EmitBoxed(const Node& n, const Schema& schema, const OperatorInfo& info,
                         int depth, std::string* out) {
    if (schema.vararg || n.args().size() > schema.params.size()) {
      return absl::UnimplementedError("variadic operator");
    }
    std::string ind = Indent(depth);
    std::vector<std::string> args;
    vector_lists_ = true;  // lists as std::vector, which IValue takes
    for (size_t i = 0; i < n.args().size(); ++i) {
      std::string type = schema.params[i].type;
      // IValues carry SymInts as ints.
      if (absl::StartsWith(type, "SymInt")) type = absl::StrCat("int", type.substr(6));
      absl::StatusOr<std::string> e = Expr(n.args()[i], type);
      if (!e.ok()) {
        vector_lists_ = false;
        return e.status();
      }
      args.push_back(std::move(*e));
    }
    vector_lists_ = false;
    // The results: the schema's returns, as the node's type spells them.
    std::vector<std::string> result_types;
    if (n.type() != "NoneType") {
      std::string t = n.type();
      if (absl::StartsWith(t, "(") && absl::EndsWith(t, ")") && Returns(info.schema) > 1) {
        for (const std::string& part : SplitTopLevel(absl::string_view(t).substr(1, t.size() - 2))) {
          ASSIGN_OR_RETURN(std::string c, CppType(part));
          result_types.push_back(c);
        }
      } else {
        ASSIGN_OR_RETURN(std::string c, CppType(t));
        result_types.push_back(c);
      }
    }
    std::string var = n.type() == "NoneType" ? names_.Unique(n.name().empty() ? "v" : n.name())
                                             : NewVar(n);
    std::string op = names_.Unique(var + "_op");
    std::string stack = names_.Unique(var + "_stack");
    std::string lookup;
    std::string name = StringLiteral(schema.name);
    std::string overload = StringLiteral(schema.overload);
    if (info.dispatcher) {
      extra_includes_.insert("ATen/core/dispatch/Dispatcher.h");
      lookup = absl::StrCat(ind, "  static const c10::OperatorHandle ", op,
                            " = c10::Dispatcher::singleton().findSchemaOrThrow(", name, ", ",
                            overload, ");\n");
    } else {
      extra_includes_.insert("torch/csrc/jit/runtime/operator.h");
      lookup = absl::StrCat(ind, "  static torch::jit::Operation ", op, " = [] {\n", ind,
                            "    auto found = torch::jit::findOperatorFor(c10::OperatorName(", name,
                            ", ", overload, "));\n", ind, "    TORCH_CHECK(found != nullptr, ",
                            StringLiteral(absl::StrCat("operator ", n.target(), " is not registered")),
                            ");\n", ind, "    return found->getOperation();\n", ind, "  }();\n");
    }
    std::string call = info.dispatcher ? absl::StrCat(op, ".callBoxed(&", stack, ")")
                                       : absl::StrCat(op, "(", stack, ")");
    std::string body = absl::StrCat(lookup, ind, "  std::vector<c10::IValue> ", stack, ";\n");
    // A list the operator writes (aten::insert.t) is held here as a
    // std::vector, a copy of the IValue's list: copy the written list back.
    std::string write_back;
    for (size_t k = 0; k < args.size(); ++k) {
      const Argument& a = n.args()[k];
      bool written = std::find(n.mutates().begin(), n.mutates().end(), static_cast<int>(k)) !=
                     n.mutates().end();
      std::string t = a.is_node() ? a.node()->type() : "";
      if (written && (absl::StartsWith(t, "List[") || absl::EndsWith(t, "[]"))) {
        ASSIGN_OR_RETURN(std::string cpp, CppType(t));
        std::string held = names_.Unique(absl::StrCat(var, "_arg", k));
        absl::StrAppend(&body, ind, "  c10::IValue ", held, "(", args[k], ");\n", ind, "  ", stack,
                        ".push_back(", held, ");\n");
        absl::StrAppend(&write_back, ind, "  ", args[k], " = ", held, ".to<", cpp, ">();\n");
        continue;
      }
      absl::StrAppend(&body, ind, "  ", stack, ".emplace_back(", args[k], ");\n");
    }
    absl::StrAppend(&body, ind, "  ", call, ";\n", write_back);
    absl::StrAppend(out, ind, Comment(n), " (boxed)\n");
    if (result_types.empty()) {
      absl::StrAppend(out, ind, "{\n", body, ind, "}\n");
      vars_[&n] = "c10::nullopt";
      return absl::OkStatus();
    }
    std::vector<std::string> results;
    for (size_t k = 0; k < result_types.size(); ++k) {
      results.push_back(absl::StrCat("std::move(", stack, "[", k, "]).to<", result_types[k], ">()"));
    }
    std::string value = results.size() == 1
                            ? results[0]
                            : absl::StrCat("std::make_tuple(", absl::StrJoin(results, ", "), ")");
    absl::StrAppend(out, ind, "auto ", var, " = [&] {\n", body, ind, "  return ", value, ";\n",
                    ind, "}();\n");
    return absl::OkStatus();
  }

  // The number of values a schema returns: "-> Tensor" 1, "-> (Tensor, Tensor)" 2, "-> ()" 0.
  static int Returns(absl::string_view schema) {
    absl::string_view r = absl::StripAsciiWhitespace(schema.substr(schema.rfind("->") + 2));
    if (!absl::StartsWith(r, "(")) return 1;
    // "((str, t)[])" is one list of tuples; "(Tensor, Tensor)" two values.
    return static_cast<int>(SplitTopLevel(r.substr(1, r.size() - 2)).size());
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
    bool optional_param = absl::EndsWith(type, "?");
    if (optional_param) {
      if (a.kind() == Argument::Kind::kNone) return std::string("c10::nullopt");
      type.remove_suffix(1);
    }
    switch (a.kind()) {
      case Argument::Kind::kNode: {
        ASSIGN_OR_RETURN(std::string v, NodeExpr(a.node()));
        // TorchScript refines an Optional after an `is not None` check
        // (prim::unchecked_cast, which the tracer passes through).
        if (absl::StartsWith(a.node()->type(), "Optional[") && !optional_param && !type.empty() &&
            type.size() > 1) {
          v = absl::StrCat(v, ".value()");
        }
        if (type == "SymInt") return absl::StrCat("c10::SymInt(", v, ")");
        if (absl::StartsWith(type, "SymInt[")) return absl::StrCat("c10::fromIntArrayRefUnchecked(", v, ")");
        if (type == "Scalar") return absl::StrCat("at::Scalar(", v, ")");
        // TorchScript carries dtypes, layouts and memory formats as ints.
        if (type == "ScalarType" || type == "Layout" || type == "MemoryFormat") {
          return absl::StrCat("static_cast<at::", type, ">(", v, ")");
        }
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
      bool literal = a.IsLiteral() && !vector_lists_ && !type.empty();
      std::string ints = literal ? absl::StrCat("at::IntArrayRef({", joined, "})")
                                 : absl::StrCat("std::vector<int64_t>{", joined, "}");
      if (literal && element == "SymInt") {
        return absl::StrCat("c10::fromIntArrayRefUnchecked(", ints, ")");
      }
      if (literal) return ints;
      if (element == "SymInt") return absl::StrCat("c10::fromIntArrayRefUnchecked(", ints, ")");
      if (vector_lists_ || type.empty()) return ints;
      return absl::StrCat("at::IntArrayRef(", ints, ")");
    }
    if (a.elements().empty() && element.empty()) return std::string("{}");  // typed by the use
    return absl::UnimplementedError(absl::StrCat("no C++ form for a list of type '", type, "'"));
  }

  // ---- files

  std::string Fingerprint() const {
    // FNV-1a over everything the generated code depends on.
    std::string text = PrintGraph(*input_.graph);
    absl::StrAppend(&text, "\nkeys:", absl::StrJoin(input_.keys, "\n"), "\nweights:",
                    absl::StrJoin(input_.weights, "\n"), "\nversion:", kWeightsFormatVersion);
    if (input_.optimize) {
      absl::StrAppend(&text, "\noptimize", input_.channels_last_outputs ? ":channels_last" : "");
    }
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

  // ---- outputs that are not tensors: Dict[str, Tensor], tuples and lists
  // of tensors. The Features struct holds them as they are; ToDict flattens
  // them to "key.subkey" and "key.0", "key.1", ... as the TorchScript back end does.

  std::string OutputType(size_t i) const {
    const Argument& a = input_.graph->output()->args()[i];
    return a.is_node() ? a.node()->type() : "Tensor";
  }

  std::string OutputCppType(size_t i) const {
    absl::StatusOr<std::string> t = CppType(OutputType(i));
    return t.ok() ? *t : "at::Tensor";
  }

  bool HasNonTensorOutput() const {
    for (size_t i = 0; i < input_.keys.size(); ++i) {
      if (OutputType(i) != "Tensor") return true;
    }
    return false;
  }

  std::string OutputKind(size_t i) const {
    std::string type = OutputType(i);
    if (type == "Tensor") return "";
    if (absl::StartsWith(type, "Dict[")) return "; ToDict: \"<key>.<subkey>\"";
    return "; ToDict: \"<key>.0\", \"<key>.1\", ...";
  }

  std::string ToDictEntry(size_t i, const std::string& member) const {
    std::string type = OutputType(i);
    std::string field = "this->" + member;  // a field may be named `i` or `item`
    std::string key = StringLiteral(input_.keys[i]);
    if (type == "Tensor") return absl::StrCat("  dict.insert(", key, ", ", member, ");\n");
    if (absl::StartsWith(type, "Dict[")) {
      return absl::StrCat("  for (const auto& item : ", field, ") {\n    dict.insert(std::string(",
                          key, ") + \".\" + item.key(), item.value());\n  }\n");
    }
    if (absl::StartsWith(type, "List[") || absl::EndsWith(type, "[]")) {
      return absl::StrCat("  for (size_t i = 0; i < ", field, ".size(); ++i) {\n",
                          "    dict.insert(std::string(", key, ") + \".\" + std::to_string(i), ",
                          field, "[i]);\n  }\n");
    }
    // A tuple: its size is known here.
    absl::string_view inner = type;
    if (absl::StartsWith(inner, "Tuple[")) {
      inner = inner.substr(6, inner.size() - 7);
    } else {
      inner = inner.substr(1, inner.size() - 2);
    }
    std::string out;
    size_t n = SplitTopLevel(inner).size();
    for (size_t k = 0; k < n; ++k) {
      absl::StrAppend(&out, "  dict.insert(", StringLiteral(absl::StrCat(input_.keys[i], ".", k)),
                      ", std::get<", k, ">(", field, "));\n");
    }
    return out;
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
    for (const auto& [var, param] : inputs_) params.push_back("const at::Tensor& " + param);
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
        "\n\n", input_.optimize ? "#include <memory>\n" : "", "#include <string>\n",
        HasNonTensorOutput() ? "#include <tuple>\n#include <vector>\n" : "",
        "\n#include <ATen/core/Dict.h>\n#include <ATen/core/Tensor.h>\n\n",
        NamespaceOpen(), "\nclass ", input_.class_name, " {\n public:\n  struct Features {\n");
    for (size_t i = 0; i < fields.size(); ++i) {
      absl::StrAppend(&out, "    ", OutputCppType(i), " ", fields[i], ";  // ",
                      CommentText(input_.keys[i]), OutputKind(i), "\n");
    }
    absl::StrAppend(&out,
                    "\n    // The features under their output keys, in order.\n"
                    "    c10::Dict<std::string, at::Tensor> ToDict() const;\n  };\n\n"
                    "  // Reads the weights file written with this source. Throws c10::Error if\n"
                    "  // it is missing, truncated, or made for other generated code.\n  static ",
                    input_.class_name, " Load(const std::string& weights_path);\n\n",
                    "  // Runs the extractor (in inference mode) on the model's ", input_.mode,
                    " graph.\n",
                    "  Features operator()(", Params(), ") const;\n\n private:\n");
    for (const std::string& w : input_.weights) {
      absl::StrAppend(&out, "  at::Tensor ", weight_members_.at(w), ";  // ", CommentText(w),
                      "\n");
    }
    if (input_.optimize) {
      absl::StrAppend(&out, "  // Prepacked convolutions, shared by copies.\n  struct Optimized;\n",
                      "  std::shared_ptr<const Optimized> optimized_;\n");
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
          "  return list[i < 0 ? i + n : i];\n}\n\n"
          "// list[i] = value with Python's negative indices.\n"
          "template <typename T, typename V>\nvoid SetItem(std::vector<T>& list, int64_t i, const V& value) {\n"
          "  int64_t n = static_cast<int64_t>(list.size());\n"
          "  TORCH_CHECK(i >= -n && i < n, \"list index out of range\");\n"
          "  list[i < 0 ? i + n : i] = value;\n}\n\n";
    }
    if (helpers_.count("slice")) {
      out +=
          "// list[start:end:step], with Python's rules for None, negative and\n"
          "// out-of-range bounds and negative steps.\n"
          "template <typename T>\nstd::vector<T> SliceList(const std::vector<T>& list, c10::optional<int64_t> start,\n"
          "                         c10::optional<int64_t> end, int64_t step) {\n"
          "  TORCH_CHECK(step != 0, \"slice step cannot be zero\");\n"
          "  int64_t n = static_cast<int64_t>(list.size());\n"
          "  auto bound = [&](c10::optional<int64_t> v, int64_t missing) {\n"
          "    if (!v.has_value()) return missing;\n"
          "    int64_t i = *v < 0 ? *v + n : *v;\n"
          "    if (i < 0) return step < 0 ? int64_t{-1} : int64_t{0};\n"
          "    if (i >= n) return step < 0 ? n - 1 : n;\n"
          "    return i;\n  };\n"
          "  int64_t lo = bound(start, step < 0 ? n - 1 : 0);\n"
          "  int64_t hi = bound(end, step < 0 ? -1 : n);\n"
          "  std::vector<T> out;\n"
          "  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) out.push_back(list[i]);\n"
          "  return out;\n}\n\n";
    }
    if (helpers_.count("concat")) {
      out +=
          "template <typename T>\nstd::vector<T> ConcatLists(std::vector<T> a, const std::vector<T>& b) {\n"
          "  a.insert(a.end(), b.begin(), b.end());\n  return a;\n}\n\n";
    }
    if (helpers_.count("contains")) {
      out +=
          "bool Contains(const std::vector<int64_t>& list, int64_t x) {\n"
          "  return std::find(list.begin(), list.end(), x) != list.end();\n}\n\n";
    }
    if (helpers_.count("allany")) {
      out +=
          "bool AllOf(const std::vector<bool>& v) { return std::all_of(v.begin(), v.end(), [](bool b) { return b; }); }\n"
          "bool AnyOf(const std::vector<bool>& v) { return std::any_of(v.begin(), v.end(), [](bool b) { return b; }); }\n\n";
    }
    if (helpers_.count("find")) {
      out +=
          "// str.find(sub, start, end).\n"
          "int64_t Find(const std::string& s, const std::string& sub, int64_t start, int64_t end) {\n"
          "  int64_t n = static_cast<int64_t>(s.size());\n"
          "  auto bound = [n](int64_t i) { return std::min(std::max<int64_t>(i < 0 ? i + n : i, 0), n); };\n"
          "  int64_t lo = bound(start), hi = bound(end);\n"
          "  if (lo > hi) return -1;\n"
          "  size_t at = s.substr(0, hi).find(sub, lo);\n"
          "  return at == std::string::npos ? -1 : static_cast<int64_t>(at);\n}\n\n";
    }
    for (const std::string& h : helpers_) out += BuiltinHelperSource(h);
    if (helpers_.count("format")) {
      out +=
          "// str.format with positional {} fields, for error messages.\n"
          "template <typename T>\nstd::ostream& operator<<(std::ostream& os, const std::vector<T>& v) {\n"
          "  os << \"[\";\n  for (size_t i = 0; i < v.size(); ++i) os << (i ? \", \" : \"\") << v[i];\n"
          "  return os << \"]\";\n}\n"
          "template <typename... T>\nstd::ostream& operator<<(std::ostream& os, const std::tuple<T...>& t) {\n"
          "  os << \"(\";\n  size_t i = 0;\n"
          "  std::apply([&](const auto&... v) { ((os << (i++ ? \", \" : \"\") << v), ...); }, t);\n"
          "  return os << \")\";\n}\n"
          "template <typename T>\nstd::ostream& operator<<(std::ostream& os, const c10::optional<T>& v) {\n"
          "  if (v.has_value()) return os << *v;\n  return os << \"None\";\n}\n"
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
                                   "#include <algorithm>\n#include <cmath>\n#include <cstdint>\n#include <fstream>\n",
                                   "#include <iterator>\n#include <limits>\n#include <numeric>\n#include <sstream>\n",
                                   "#include <tuple>\n#include <vector>\n\n");
    for (const std::string& op : ops_headers_) {
      absl::StrAppend(&out, "#include <ATen/ops/", op, "_ops.h>\n");
    }
    std::set<std::string> includes = extra_includes_;
    if (input_.optimize) {
      for (const std::string& h : OptimizedRuntimeIncludes()) includes.insert(h);
    }
    for (const std::string& h : includes) absl::StrAppend(&out, "#include <", h, ">\n");
    absl::StrAppend(&out,
                    "#include <ATen/core/grad_mode.h>\n#include <c10/core/InferenceMode.h>\n#include <c10/util/Exception.h>\n"
                    "#include <torch/csrc/jit/serialization/pickle.h>\n\n",
                    NamespaceOpen(), "\nnamespace {\n\nconstexpr int64_t kFormatVersion = ",
                    kWeightsFormatVersion, ";\nconstexpr char kFingerprint[] = \"", fingerprint,
                    "\";\n\n", Helpers(), input_.optimize ? OptimizedRuntimeHelpers() : "",
                    "}  // namespace\n\n");
    if (input_.optimize) {
      absl::StrAppend(&out, "struct ", cls, "::Optimized {\n");
      for (const auto& [member, init] : convs_) absl::StrAppend(&out, "  PrepackedConv2d ", member, ";\n");
      absl::StrAppend(&out, "};\n\n");
    }
    // ToDict
    absl::StrAppend(&out, "c10::Dict<std::string, at::Tensor> ", cls,
                    "::Features::ToDict() const {\n  c10::Dict<std::string, at::Tensor> dict;\n");
    for (size_t i = 0; i < fields.size(); ++i) {
      absl::StrAppend(&out, ToDictEntry(i, fields[i]));
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
        "  c10::impl::GenericDict tensors = dict.at(\"tensors\").toGenericDict();\n");
    if (!input_.weights.empty()) {
      absl::StrAppend(
          &out, "  auto get = [&](const char* name) {\n",
          "    TORCH_CHECK(tensors.contains(name) && tensors.at(name).isTensor(), \"weights file '\",\n",
          "                weights_path, \"' lacks tensor '\", name, \"'\");\n",
          "    return tensors.at(name).toTensor();\n  };\n");
    }
    absl::StrAppend(&out, "  ", cls, " extractor;\n");
    for (const std::string& w : input_.weights) {
      absl::StrAppend(&out, "  extractor.", weight_members_.at(w), " = get(", StringLiteral(w),
                      ");\n");
    }
    if (input_.optimize) {
      absl::StrAppend(&out, "  auto optimized = std::make_shared<Optimized>();\n");
      for (const auto& [member, init] : convs_) {
        absl::StrAppend(&out, "  optimized->", member, " = ", init, ";\n");
      }
      absl::StrAppend(&out, "  extractor.optimized_ = std::move(optimized);\n");
    }
    absl::StrAppend(&out, "  return extractor;\n}\n\n");
    // operator()
    absl::StrAppend(&out, cls, "::Features ", cls, "::operator()(", Params(), ") const {\n",
                    "  c10::InferenceMode inference_mode;\n");
    for (const auto& [var, param] : inputs_) {
      absl::StrAppend(&out, "  at::Tensor ", var, " = ", param, ";\n");
    }
    absl::StrAppend(&out, body, "  Features features;\n");
    for (size_t i = 0; i < fields.size(); ++i) {
      bool nchw = input_.optimize && !input_.channels_last_outputs;
      absl::StrAppend(&out, "  features.", fields[i], " = ", nchw ? "ToNchw(" : "", results[i],
                      nchw ? ")" : "", ";\n");
    }
    absl::StrAppend(&out, "  return features;\n}\n\n", NamespaceClose());
    return out;
  }

  const CppExtractorInput& input_;
  Namespace names_;
  absl::flat_hash_map<const Node*, std::string> vars_;
  std::map<std::string, std::string> weight_members_;
  std::vector<std::pair<std::string, std::string>> inputs_;  // local, parameter
  std::set<std::string> ops_headers_;
  std::set<std::string> helpers_;
  std::set<std::string> extra_includes_;
  Namespace conv_names_;                                   // members of Optimized
  std::vector<std::pair<std::string, std::string>> convs_;  // member, PrepackedConv2d(...)
  bool vector_lists_ = false;  // while emitting a builtin's arguments
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
  // Words: a capital with its lower-case run ("Seed"), a run of capitals not
  // followed by lower case ("T" in "SwinT"), or digits. Digits and the word
  // "Net" join the word before them, as torchvision spells its models
  // (ResNet18 -> resnet18, MobileNetV3 -> mobilenet_v3).
  std::vector<std::string> words;
  size_t i = 0;
  while (i < camel.size()) {
    size_t start = i;
    unsigned char c = camel[i];
    if (absl::ascii_isdigit(c)) {
      while (i < camel.size() && absl::ascii_isdigit(camel[i])) ++i;
    } else if (absl::ascii_isupper(c)) {
      ++i;
      if (i < camel.size() && absl::ascii_islower(camel[i])) {
        while (i < camel.size() && absl::ascii_islower(camel[i])) ++i;
      } else {
        while (i < camel.size() && absl::ascii_isupper(camel[i]) &&
               !(i + 1 < camel.size() && absl::ascii_islower(camel[i + 1]))) {
          ++i;
        }
      }
    } else {
      ++i;
      while (i < camel.size() && !absl::ascii_isupper(camel[i]) && !absl::ascii_isdigit(camel[i])) ++i;
    }
    std::string word = absl::AsciiStrToLower(camel.substr(start, i - start));
    bool join = !words.empty() && (absl::ascii_isdigit(word[0]) || word == "net");
    if (join) {
      words.back() += word;
    } else {
      words.push_back(word);
    }
  }
  return absl::StrJoin(words, "_");
}

absl::StatusOr<CppSource> EmitCppExtractor(const CppExtractorInput& input) {
  if (input.graph == nullptr) return absl::InvalidArgumentError("no graph");
  if (input.graph->output() == nullptr ||
      input.graph->output()->args().size() != input.keys.size()) {
    return absl::InvalidArgumentError("the graph's outputs do not match the keys");
  }
  RETURN_IF_ERROR(CheckNoDeadCode(*input.graph));
  return Emitter(input).Run();
}

}  // namespace featx
