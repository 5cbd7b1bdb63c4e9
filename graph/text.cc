#include "graph/text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "graph/literal.h"
#include "graph/schema.h"

namespace featx {

namespace {

bool IsBareChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
         c == '<' || c == '>' || c == '?' || c == '*' || c == '[' || c == ']' || c == '-';
}

// A token as printed: bare if it is safe, else a quoted C-escaped string.
std::string Token(absl::string_view s) {
  bool bare = !s.empty();
  for (char c : s) bare = bare && IsBareChar(c);
  if (bare) return std::string(s);
  return absl::StrCat("\"", absl::CEscape(s), "\"");
}

class Printer {
 public:
  std::string Print(const Graph& graph, const PrintOptions& options) {
    std::string out;
    PrintBlock(graph, 0, &out);
    if (!options.schemas) return out;
    // One line per operator schema the nodes carry, in order of first use,
    // at the end as LLVM lists its declarations.
    std::vector<std::string> targets;
    absl::flat_hash_map<std::string, const OperatorSchema*> schemas;
    ForEachNodeRecursive(graph, [&](Node* n) {
      if (n->schema() != nullptr && schemas.emplace(n->target(), n->schema()).second) {
        targets.push_back(n->target());
      }
    });
    for (const std::string& t : targets)
      absl::StrAppend(&out, "schema ", ToSchemaText(*schemas[t]), "\n");
    return out;
  }

  std::string Arg(const Argument& a) const {
    switch (a.kind()) {
      case Argument::Kind::kNone:
        return "None";
      case Argument::Kind::kBool:
        return a.bool_value() ? "true" : "false";
      case Argument::Kind::kInt:
        return absl::StrCat(a.int_value());
      case Argument::Kind::kDouble:
        return FormatDouble(a.double_value());
      case Argument::Kind::kString:
        return absl::StrCat("\"", absl::CEscape(a.string_value()), "\"");
      case Argument::Kind::kDevice:
        return absl::StrCat("device(\"", absl::CEscape(a.string_value()), "\")");
      case Argument::Kind::kNode: {
        auto it = ids_.find(a.node());
        if (it != ids_.end()) return absl::StrCat("%", it->second);
        return a.node()->name().empty() ? "%?" : absl::StrCat("%", a.node()->name());
      }
      case Argument::Kind::kList:
      case Argument::Kind::kTuple: {
        std::vector<std::string> parts;
        for (const Argument& e : a.elements()) parts.push_back(Arg(e));
        if (a.kind() == Argument::Kind::kList) {
          return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
        }
        return absl::StrCat("(", absl::StrJoin(parts, ", "), parts.size() == 1 ? ",)" : ")");
      }
    }
    return "?";
  }

 private:
  void PrintBlock(const Graph& graph, int depth, std::string* out) {
    for (const auto& node : graph.nodes()) {
      const Node& n = *node;
      std::string indent(2 * depth, ' ');
      std::vector<std::string> args;
      for (const Argument& a : n.args()) args.push_back(Arg(a));
      std::string arg_text = absl::StrJoin(args, ", ");
      if (n.op() == OpCode::kOutput) {
        absl::StrAppend(out, indent, "output(", arg_text, ")\n");
        continue;
      }
      int id = next_id_++;
      ids_[&n] = id;
      absl::StrAppend(out, indent, "%", id, " = ", OpCodeName(n.op()));
      bool has_call_args = n.op() != OpCode::kPlaceholder && n.op() != OpCode::kGetAttr;
      // A placeholder's or get_attr's target is printed even when empty (as
      // ""): the reader takes the next token as the target (fuzzer finding).
      if (!n.target().empty() || !has_call_args) absl::StrAppend(out, " ", Token(n.target()));
      if (has_call_args) absl::StrAppend(out, "(", arg_text, ")");
      absl::StrAppend(out, " : ", NodeTypeText(n));
      if (!n.scope().empty()) absl::StrAppend(out, " scope=", Token(n.scope()));
      if (!n.module_type().empty()) absl::StrAppend(out, " class=", Token(n.module_type()));
      if (!n.name().empty()) absl::StrAppend(out, " name=", Token(n.name()));
      if (!n.mutates().empty()) absl::StrAppend(out, " mutates=", absl::StrJoin(n.mutates(), "+"));
      if (n.alias_of() >= 0) absl::StrAppend(out, " alias_of=", n.alias_of());
      if (!n.location().empty()) absl::StrAppend(out, " loc=", Token(n.location()));
      if (!n.fx_op().empty()) absl::StrAppend(out, " fx_op=", Token(n.fx_op()));
      if (n.blocks().empty()) {
        absl::StrAppend(out, "\n");
        continue;
      }
      absl::StrAppend(out, " {\n");
      for (size_t b = 0; b < n.blocks().size(); ++b) {
        PrintBlock(*n.blocks()[b], depth + 1, out);
        absl::StrAppend(out, indent, b + 1 < n.blocks().size() ? "} {\n" : "}\n");
      }
    }
  }

  absl::flat_hash_map<const Node*, int> ids_;
  int next_id_ = 0;
};

// Reads one line of the text form.
class LineParser {
 public:
  LineParser(absl::string_view line, const absl::flat_hash_map<std::string, Node*>& ids)
      : rest_(line), ids_(ids) {}

  absl::string_view rest() const { return rest_; }
  bool AtEnd() {
    SkipSpace();
    return rest_.empty();
  }
  void SkipSpace() { rest_ = absl::StripLeadingAsciiWhitespace(rest_); }
  bool Consume(absl::string_view prefix) {
    SkipSpace();
    return absl::ConsumePrefix(&rest_, prefix);
  }
  absl::Status Expect(absl::string_view prefix) {
    if (Consume(prefix)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", prefix, "'"));
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(what, " at '", rest_.substr(0, 30), "'"));
  }

  // A bare or quoted token; empty if there is none.
  absl::StatusOr<std::string> ReadToken() {
    SkipSpace();
    if (!rest_.empty() && rest_[0] == '"') return ReadQuoted();
    size_t n = 0;
    while (n < rest_.size() && IsBareChar(rest_[n])) ++n;
    std::string token(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return token;
  }

  // A node's type: "Tensor", "Tuple[Tensor, int]", or "(Tensor, Tensor)" for
  // several results. A quoted type ("\"Dict[str, Tensor]\"", as types were
  // printed before they were structured) is read too.
  absl::Status ReadNodeType(NodeInit& init) {
    SkipSpace();
    if (!rest_.empty() && rest_[0] == '"') {
      ASSIGN_OR_RETURN(std::string quoted, ReadQuoted());
      absl::string_view text = quoted;
      return ReadNodeTypeFrom(&text, init);
    }
    return ReadNodeTypeFrom(&rest_, init);
  }

  absl::Status ReadNodeTypeFrom(absl::string_view* text, NodeInit& init) {
    *text = absl::StripLeadingAsciiWhitespace(*text);
    init.multiple_results = absl::StartsWith(*text, "(");
    absl::StatusOr<Type> type = ConsumeType(text);
    if (!type.ok()) return Error(type.status().message());
    init.type = *std::move(type);
    return absl::OkStatus();
  }

  // A node id after '%': letters, digits, '_' and '.'.
  std::string ReadId() {
    size_t n = 0;
    while (n < rest_.size() && (absl::ascii_isalnum(static_cast<unsigned char>(rest_[n])) ||
                                rest_[n] == '_' || rest_[n] == '.')) {
      ++n;
    }
    std::string id(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return id;
  }

  absl::StatusOr<std::string> ReadQuoted() {
    SkipSpace();
    if (rest_.empty() || rest_[0] != '"') return Error("expected a quoted string");
    size_t i = 1;
    while (i < rest_.size() && rest_[i] != '"') i += rest_[i] == '\\' ? 2 : 1;
    if (i >= rest_.size()) return Error("unterminated string");
    std::string unescaped, error;
    if (!absl::CUnescape(rest_.substr(1, i - 1), &unescaped, &error)) {
      return Error(absl::StrCat("bad string escape: ", error));
    }
    rest_.remove_prefix(i + 1);
    return unescaped;
  }

  // Arguments up to and including the closing `close`.
  // Lists and tuples nest by recursion: bounded, so "[[[[..." is an error,
  // not a stack overflow.
  absl::StatusOr<std::vector<Argument>> ReadArgs(char close) {
    if (depth_ >= kMaxNesting) return Error("arguments nested too deeply");
    ++depth_;
    absl::StatusOr<std::vector<Argument>> args = ReadArgList(close);
    --depth_;
    return args;
  }

  absl::StatusOr<std::vector<Argument>> ReadArgList(char close) {
    std::vector<Argument> args;
    if (Consume(absl::string_view(&close, 1))) return args;
    while (true) {
      ASSIGN_OR_RETURN(Argument a, ReadArg());
      args.push_back(std::move(a));
      if (Consume(absl::string_view(&close, 1))) return args;
      RETURN_IF_ERROR(Expect(","));
      if (Consume(absl::string_view(&close, 1))) return args;  // "(x,)"
    }
  }

  absl::StatusOr<Argument> ReadArg() {
    SkipSpace();
    if (rest_.empty()) return Error("expected an argument");
    char c = rest_[0];
    if (c == '%') {
      rest_.remove_prefix(1);
      std::string id = ReadId();
      auto it = ids_.find(id);
      if (it == ids_.end()) return Error(absl::StrCat("unknown node %", id));
      return Argument::NodeRef(it->second);
    }
    if (c == '"') {
      ASSIGN_OR_RETURN(std::string s, ReadQuoted());
      return Argument::String(std::move(s));
    }
    if (Consume("[")) {
      ASSIGN_OR_RETURN(std::vector<Argument> elements, ReadArgs(']'));
      return Argument::List(std::move(elements));
    }
    if (Consume("(")) {
      ASSIGN_OR_RETURN(std::vector<Argument> elements, ReadArgs(')'));
      return Argument::Tuple(std::move(elements));
    }
    if (Consume("device(")) {
      ASSIGN_OR_RETURN(std::string d, ReadQuoted());
      RETURN_IF_ERROR(Expect(")"));
      return Argument::Device(std::move(d));
    }
    // A bare literal ends at the next separator ("1]" in "[2, 1]" is "1").
    std::string word = TakeWord(&rest_, ",()[]\"");
    std::optional<Argument> scalar = ScalarFromWord(word);
    if (scalar.has_value()) return *std::move(scalar);
    return Error(absl::StrCat("cannot read argument '", word, "'"));
  }

 private:
  int depth_ = 0;
  absl::string_view rest_;
  const absl::flat_hash_map<std::string, Node*>& ids_;
};

class Parser {
 public:
  explicit Parser(absl::string_view text) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      lines_.push_back(line);
    }
  }

  absl::StatusOr<std::unique_ptr<Graph>> Parse() {
    auto graph = std::make_unique<Graph>();
    ASSIGN_OR_RETURN(absl::string_view end, ParseBlock(graph.get()));
    if (!end.empty()) return LineError("unexpected '}'");
    ForEachNodeRecursive(*graph, [&](Node* n) {
      auto it = schemas_.find(n->target());
      if (it != schemas_.end() && n->IsOperator()) n->set_schema(it->second);
    });
    return graph;
  }

 private:
  absl::Status LineError(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("graph text line ", line_no_, ": ", what));
  }

  // Parses nodes into `graph` until a line starting with '}' (returned) or the
  // end of the text (returns "").
  absl::StatusOr<absl::string_view> ParseBlock(Graph* graph) {
    while (next_ < lines_.size()) {
      absl::string_view line = lines_[next_++];
      line_no_ = next_;
      if (line.empty() || absl::StartsWith(line, "#")) continue;
      if (line[0] == '}') return line;
      if (absl::ConsumePrefix(&line, "schema ")) {
        absl::StatusOr<OperatorSchema> schema = ParseSchema(line);
        if (!schema.ok()) return LineError(schema.status().message());
        std::string target = schema->Target();
        schemas_[target] = std::make_shared<const OperatorSchema>(*std::move(schema));
        continue;
      }
      absl::Status s = ParseNode(line, graph);
      if (!s.ok()) return LineError(s.message());
    }
    return absl::string_view();
  }

  absl::Status ParseNode(absl::string_view line, Graph* graph) {
    LineParser p(line, ids_);
    if (p.Consume("output(")) {
      ASSIGN_OR_RETURN(std::vector<Argument> args, p.ReadArgs(')'));
      if (!p.AtEnd()) return p.Error("trailing text");
      graph->Append({.op = OpCode::kOutput, .args = std::move(args), .type = Type::None()});
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(p.Expect("%"));
    std::string id = p.ReadId();
    if (id.empty() || ids_.contains(id)) return p.Error(absl::StrCat("bad or repeated id %", id));
    RETURN_IF_ERROR(p.Expect("="));
    ASSIGN_OR_RETURN(std::string opcode, p.ReadToken());
    std::optional<OpCode> op = ParseOpCode(opcode);
    if (!op.has_value() || *op == OpCode::kOutput) {
      return p.Error(absl::StrCat("unknown opcode '", opcode, "'"));
    }
    NodeInit init{.op = *op};
    p.SkipSpace();
    if (!absl::StartsWith(p.rest(), "(")) {
      ASSIGN_OR_RETURN(init.target, p.ReadToken());
    }
    if (*op != OpCode::kPlaceholder && *op != OpCode::kGetAttr) {
      RETURN_IF_ERROR(p.Expect("("));
      ASSIGN_OR_RETURN(init.args, p.ReadArgs(')'));
    }
    RETURN_IF_ERROR(p.Expect(":"));
    RETURN_IF_ERROR(p.ReadNodeType(init));
    std::string name;
    bool opens_block = false;
    while (!p.AtEnd()) {
      if (p.Consume("{")) {
        opens_block = true;
        if (!p.AtEnd()) return p.Error("text after '{'");
        break;
      }
      ASSIGN_OR_RETURN(std::string key, p.ReadToken());
      RETURN_IF_ERROR(p.Expect("="));
      ASSIGN_OR_RETURN(std::string value, p.ReadToken());
      if (key == "scope") {
        init.scope = value;
      } else if (key == "class") {
        init.module_type = value;
      } else if (key == "name") {
        name = value;
      } else if (key == "loc") {
        init.location = value;
      } else if (key == "fx_op") {
        init.fx_op = value;
      } else if (key == "mutates" || key == "alias_of") {
        for (absl::string_view part : absl::StrSplit(value, '+')) {
          int index;
          if (!absl::SimpleAtoi(part, &index) || index < 0) {
            return p.Error(absl::StrCat("bad argument index in ", key, "=", value));
          }
          if (key == "mutates") {
            init.mutates.push_back(index);
          } else {
            init.alias_of = index;
          }
        }
      } else {
        return p.Error(absl::StrCat("unknown attribute '", key, "'"));
      }
    }
    Node* node = graph->Append(std::move(init));
    node->set_name(name);
    ids_[id] = node;
    if (!opens_block) return absl::OkStatus();
    while (true) {
      Graph* block = graph->AddBlock(node);
      ASSIGN_OR_RETURN(absl::string_view end, ParseBlock(block));
      if (end == "} {") continue;
      if (end == "}") return absl::OkStatus();
      return absl::InvalidArgumentError("block is not closed with '}'");
    }
  }

  std::vector<absl::string_view> lines_;
  size_t next_ = 0;
  size_t line_no_ = 0;
  absl::flat_hash_map<std::string, Node*> ids_;
  absl::flat_hash_map<std::string, std::shared_ptr<const OperatorSchema>> schemas_;
};

}  // namespace

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text = buffer;
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

std::string PrintGraph(const Graph& graph, const PrintOptions& options) {
  return Printer().Print(graph, options);
}

std::string PrintArgument(const Argument& arg) { return Printer().Arg(arg); }

absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(absl::string_view text) {
  return Parser(text).Parse();
}

}  // namespace featx
