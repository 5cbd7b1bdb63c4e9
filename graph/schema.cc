#include "graph/schema.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "graph/literal.h"

namespace featx {

namespace {

// ---- Printing, as LibTorch prints (function_schema.h, ivalue.cpp).

bool SameSets(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

std::string AliasText(const AliasAnnotation& a) {
  std::string out = absl::StrCat("(", absl::StrJoin(a.before_sets, "|"), a.is_write ? "!" : "");
  if (!SameSets(a.after_sets, a.before_sets)) {
    absl::StrAppend(&out, " -> ", absl::StrJoin(a.after_sets, "|"));
  }
  return out + ")";
}

// A string literal as c10::printQuotedString writes it.
std::string QuotedText(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (absl::ascii_isprint(static_cast<unsigned char>(c))) {
          out += c;
        } else {
          unsigned char u = static_cast<unsigned char>(c);
          out += absl::StrCat("\\", u / 64, (u / 8) % 8, u % 8);
        }
    }
  }
  return out + "\"";
}

// A double as IValue's operator<< writes it: "1." for integral values, else
// 17 significant digits ("1.0000000000000001e-05").
std::string DoubleText(double d) {
  int c = std::fpclassify(d);
  if ((c == FP_NORMAL || c == FP_ZERO) && std::abs(d) < 1e10) {
    int64_t i = static_cast<int64_t>(d);
    if (static_cast<double>(i) == d) {
      return absl::StrCat(i == 0 && std::signbit(d) ? "-" : "", i, ".");
    }
  }
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.17g", d);
  return buffer;
}

std::string LiteralText(const Argument& a) {
  switch (a.kind()) {
    case Argument::Kind::kNone:
      return "None";
    case Argument::Kind::kBool:
      return a.bool_value() ? "True" : "False";
    case Argument::Kind::kInt:
      return absl::StrCat(a.int_value());
    case Argument::Kind::kDouble:
      return DoubleText(a.double_value());
    case Argument::Kind::kString:
      return QuotedText(a.string_value());
    case Argument::Kind::kDevice:
      return a.string_value();
    case Argument::Kind::kList:
    case Argument::Kind::kTuple: {
      std::string inner = absl::StrJoin(
          a.elements(), ", ",
          [](std::string* out, const Argument& e) { absl::StrAppend(out, LiteralText(e)); });
      if (a.kind() == Argument::Kind::kList) return absl::StrCat("[", inner, "]");
      return absl::StrCat("(", inner, a.elements().size() == 1 ? ",)" : ")");
    }
    case Argument::Kind::kNode:
      return "%?";  // not a literal; ParseSchema never makes one
  }
  return "?";
}

std::string DefaultText(const SchemaArgument& arg) {
  const Argument& d = *arg.default_value;
  // "int[2] stride=1" for [1, 1], as native_functions.yaml writes it.
  if (arg.type.is_list() && arg.type.element().kind() == Type::Kind::kInt &&
      d.kind() == Argument::Kind::kList && d.elements().size() > 1) {
    bool same = true;
    for (const Argument& e : d.elements()) same = same && e == d.elements()[0];
    if (same) return LiteralText(d.elements()[0]);
  }
  return LiteralText(d);
}

std::string ArgumentText(const SchemaArgument& arg) {
  const Type& unopt = arg.type.is_optional() ? arg.type.element() : arg.type;
  std::string out;
  if (unopt.is_list()) {
    absl::StrAppend(&out, unopt.element().ToSchemaString());
    if (arg.element_alias.has_value()) absl::StrAppend(&out, AliasText(*arg.element_alias));
    absl::StrAppend(&out, "[", arg.list_size.has_value() ? absl::StrCat(*arg.list_size) : "", "]");
  } else {
    absl::StrAppend(&out, unopt.ToSchemaString());
  }
  if (arg.alias.has_value() && !arg.alias->before_sets.empty()) {
    absl::StrAppend(&out, AliasText(*arg.alias));
  }
  if (arg.type.is_optional()) absl::StrAppend(&out, "?");
  if (!arg.name.empty()) absl::StrAppend(&out, " ", arg.name);
  if (arg.default_value.has_value()) absl::StrAppend(&out, "=", DefaultText(arg));
  return out;
}

// ---- Parsing.

bool IsIdentChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class SchemaParser {
 public:
  explicit SchemaParser(absl::string_view text) : text_(text), rest_(text) {}

  absl::StatusOr<OperatorSchema> Parse() {
    OperatorSchema s;
    SkipSpace();
    size_t open = rest_.find('(');
    if (open == absl::string_view::npos) return Error("expected '('");
    absl::string_view qualified = absl::StripAsciiWhitespace(rest_.substr(0, open));
    size_t ns = qualified.find("::");
    size_t dot = qualified.find('.', ns == absl::string_view::npos ? 0 : ns + 2);
    s.name = std::string(qualified.substr(0, dot));
    if (dot != absl::string_view::npos) s.overload = std::string(qualified.substr(dot + 1));
    if (s.name.empty()) return Error("expected an operator name");
    rest_.remove_prefix(open + 1);
    bool kwarg_only = false;
    if (!Consume(")")) {
      while (true) {
        if (Consume("*")) {
          kwarg_only = true;
        } else if (Consume("...")) {
          s.is_vararg = true;
        } else {
          ASSIGN_OR_RETURN(SchemaArgument a, ReadArgument());
          a.kwarg_only = kwarg_only;
          s.arguments.push_back(std::move(a));
        }
        if (Consume(")")) break;
        RETURN_IF_ERROR(Expect(","));
      }
    }
    RETURN_IF_ERROR(Expect("->"));
    SkipSpace();
    if (Consume("(")) {
      if (!Consume(")")) {
        while (true) {
          if (Consume("...")) {
            s.is_varret = true;
          } else {
            ASSIGN_OR_RETURN(SchemaArgument r, ReadArgument());
            s.returns.push_back(std::move(r));
          }
          if (Consume(")")) break;
          RETURN_IF_ERROR(Expect(","));
        }
      }
    } else if (Consume("...")) {
      s.is_varret = true;
    } else {
      ASSIGN_OR_RETURN(SchemaArgument r, ReadArgument());
      s.returns.push_back(std::move(r));
    }
    if (!AtEnd()) return Error("trailing text");
    return s;
  }

 private:
  // "Tensor(a!)[2]? name=default"
  absl::StatusOr<SchemaArgument> ReadArgument() {
    SchemaArgument a;
    ASSIGN_OR_RETURN(a.type, ConsumeBaseType(&rest_));
    ASSIGN_OR_RETURN(a.alias, ReadAlias());
    while (true) {
      if (Consume("?")) {
        a.type = Type::Optional(std::move(a.type));
        continue;
      }
      if (!Consume("[")) break;
      SkipSpace();
      size_t n = 0;
      while (n < rest_.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest_[n]))) ++n;
      if (n > 0) {
        int64_t size;
        if (!absl::SimpleAtoi(rest_.substr(0, n), &size)) return Error("bad list size");
        a.list_size = size;
        rest_.remove_prefix(n);
      }
      RETURN_IF_ERROR(Expect("]"));
      a.type = Type::List(std::move(a.type));
      // LibTorch moves an annotation before "[]" to the list's elements.
      ASSIGN_OR_RETURN(std::optional<AliasAnnotation> container, ReadAlias());
      if (a.alias.has_value()) a.element_alias = std::move(a.alias);
      a.alias = std::move(container);
    }
    SkipSpace();
    size_t n = 0;
    while (n < rest_.size() && IsIdentChar(rest_[n])) ++n;
    a.name = std::string(rest_.substr(0, n));
    rest_.remove_prefix(n);
    if (Consume("=")) {
      ASSIGN_OR_RETURN(Argument d, ReadLiteral());
      // "int[2] stride=1" means [1, 1].
      if (a.list_size.has_value() && d.kind() != Argument::Kind::kList &&
          d.kind() != Argument::Kind::kNone) {
        d = Argument::List(std::vector<Argument>(*a.list_size, d));
      }
      a.default_value = std::move(d);
    }
    return a;
  }

  absl::StatusOr<std::optional<AliasAnnotation>> ReadAlias() {
    SkipSpace();
    if (!absl::StartsWith(rest_, "(")) return std::optional<AliasAnnotation>();
    rest_.remove_prefix(1);
    AliasAnnotation a;
    ASSIGN_OR_RETURN(a.before_sets, ReadSets());
    a.is_write = Consume("!");
    if (Consume("->")) {
      ASSIGN_OR_RETURN(a.after_sets, ReadSets());
    } else {
      a.after_sets = a.before_sets;
    }
    RETURN_IF_ERROR(Expect(")"));
    return std::optional<AliasAnnotation>(std::move(a));
  }

  absl::StatusOr<std::vector<std::string>> ReadSets() {
    std::vector<std::string> sets;
    do {
      SkipSpace();
      if (absl::ConsumePrefix(&rest_, "*")) {
        sets.push_back("*");
        continue;
      }
      size_t n = 0;
      while (n < rest_.size() && IsIdentChar(rest_[n])) ++n;
      if (n == 0) return Error("expected an alias set");
      sets.emplace_back(rest_.substr(0, n));
      rest_.remove_prefix(n);
    } while (Consume("|"));
    return sets;
  }

  // None, True, False, numbers, "strings" or 'strings', [lists], (tuples).
  // Nested list and tuple defaults recurse: bounded, so "[[[[..." is an
  // error, not a stack overflow.
  absl::StatusOr<Argument> ReadLiteral() {
    if (depth_ >= kMaxNesting) return Error("default value nested too deeply");
    ++depth_;
    absl::StatusOr<Argument> literal = ReadLiteralUnbounded();
    --depth_;
    return literal;
  }

  absl::StatusOr<Argument> ReadLiteralUnbounded() {
    SkipSpace();
    if (rest_.empty()) return Error("expected a default value");
    char c = rest_[0];
    if (c == '"' || c == '\'') {
      size_t i = 1;
      while (i < rest_.size() && rest_[i] != c) i += rest_[i] == '\\' ? 2 : 1;
      if (i >= rest_.size()) return Error("unterminated string");
      std::string value;
      if (!absl::CUnescape(rest_.substr(1, i - 1), &value)) return Error("bad string escape");
      rest_.remove_prefix(i + 1);
      return Argument::String(std::move(value));
    }
    if (c == '[' || c == '(') {
      rest_.remove_prefix(1);
      char close = c == '[' ? ']' : ')';
      std::vector<Argument> elements;
      while (!Consume(absl::string_view(&close, 1))) {
        ASSIGN_OR_RETURN(Argument e, ReadLiteral());
        elements.push_back(std::move(e));
        if (Consume(absl::string_view(&close, 1))) break;
        RETURN_IF_ERROR(Expect(","));
      }
      return c == '[' ? Argument::List(std::move(elements)) : Argument::Tuple(std::move(elements));
    }
    std::string word = TakeWord(&rest_, ",()[]");
    std::optional<Argument> scalar =
        ScalarFromWord(word, {.true_word = "True", .false_word = "False"});
    if (scalar.has_value()) return *std::move(scalar);
    return Error(absl::StrCat("cannot read default value '", word, "'"));
  }

  void SkipSpace() { rest_ = absl::StripLeadingAsciiWhitespace(rest_); }
  bool AtEnd() {
    SkipSpace();
    return rest_.empty();
  }
  bool Consume(absl::string_view prefix) {
    SkipSpace();
    return absl::ConsumePrefix(&rest_, prefix);
  }
  absl::Status Expect(absl::string_view prefix) {
    if (Consume(prefix)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", prefix, "'"));
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("bad schema '", text_, "': ", what,
                                                   " at column ", text_.size() - rest_.size() + 1));
  }

  absl::string_view text_;
  int depth_ = 0;
  absl::string_view rest_;
};

}  // namespace

bool operator==(const SchemaArgument& a, const SchemaArgument& b) {
  return a.name == b.name && a.type == b.type && a.list_size == b.list_size &&
         a.default_value == b.default_value && a.kwarg_only == b.kwarg_only && a.alias == b.alias &&
         a.element_alias == b.element_alias;
}

bool operator==(const OperatorSchema& a, const OperatorSchema& b) {
  return a.name == b.name && a.overload == b.overload && a.arguments == b.arguments &&
         a.returns == b.returns && a.is_vararg == b.is_vararg && a.is_varret == b.is_varret;
}

std::string OperatorSchema::Target() const {
  return overload.empty() ? name : absl::StrCat(name, ".", overload);
}

std::string ToSchemaText(const OperatorSchema& schema) {
  std::string out = absl::StrCat(schema.Target(), "(");
  bool seen_kwarg_only = false;
  for (size_t i = 0; i < schema.arguments.size(); ++i) {
    if (i > 0) absl::StrAppend(&out, ", ");
    if (schema.arguments[i].kwarg_only && !seen_kwarg_only) {
      absl::StrAppend(&out, "*, ");
      seen_kwarg_only = true;
    }
    absl::StrAppend(&out, ArgumentText(schema.arguments[i]));
  }
  if (schema.is_vararg) absl::StrAppend(&out, schema.arguments.empty() ? "..." : ", ...");
  absl::StrAppend(&out, ") -> ");
  const std::vector<SchemaArgument>& returns = schema.returns;
  bool single = returns.size() == 1 && !schema.is_varret;
  bool paren = !(single || (returns.empty() && schema.is_varret));
  // "-> ((str, t)[])": a single return that starts with '(' is wrapped.
  if (single && absl::StartsWith(ArgumentText(returns[0]), "(")) paren = true;
  std::vector<std::string> parts;
  for (const SchemaArgument& r : returns) parts.push_back(ArgumentText(r));
  if (schema.is_varret) parts.push_back("...");
  absl::StrAppend(&out, paren ? "(" : "", absl::StrJoin(parts, ", "), paren ? ")" : "");
  return out;
}

absl::StatusOr<OperatorSchema> ParseSchema(absl::string_view text) {
  return SchemaParser(text).Parse();
}

std::vector<int> WrittenArguments(const OperatorSchema& schema) {
  std::vector<int> written;
  for (size_t i = 0; i < schema.arguments.size(); ++i) {
    const SchemaArgument& a = schema.arguments[i];
    if ((a.alias.has_value() && a.alias->is_write) ||
        (a.element_alias.has_value() && a.element_alias->is_write)) {
      written.push_back(static_cast<int>(i));
    }
  }
  return written;
}

int AliasedArgument(const OperatorSchema& schema) {
  if (schema.returns.size() != 1) return -1;
  const SchemaArgument& r = schema.returns[0];
  std::vector<std::string> result_sets;
  if (r.alias.has_value()) result_sets = r.alias->before_sets;
  if (r.element_alias.has_value()) {
    result_sets.insert(result_sets.end(), r.element_alias->before_sets.begin(),
                       r.element_alias->before_sets.end());
  }
  for (size_t i = 0; i < schema.arguments.size(); ++i) {
    const std::optional<AliasAnnotation>& alias = schema.arguments[i].alias;
    if (!alias.has_value()) continue;
    for (const std::string& set : alias->before_sets) {
      if (set == "*") continue;
      for (const std::string& r_set : result_sets) {
        if (r_set == set) return static_cast<int>(i);
      }
    }
  }
  return -1;
}

}  // namespace featx
