#include "codegen/schema.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace featx {

namespace {

// Whether the '(' at `i` opens an alias annotation ("Tensor(a!)"), not a
// type's parameters ("Dict(str, t)").
bool OpensAlias(absl::string_view type, size_t i) {
  if (i == 0) return false;
  if (type[i - 1] == ')') return true;  // "Dict(str, t)(a!)"
  if (!absl::ascii_isalpha(static_cast<unsigned char>(type[i - 1]))) return false;
  size_t start = i;
  while (start > 0 && absl::ascii_isalnum(static_cast<unsigned char>(type[start - 1]))) --start;
  absl::string_view word = type.substr(start, i - start);
  return word != "Dict" && word != "Future" && word != "RRef" && word != "Union";
}

// Removes alias annotations: "Tensor(a!)" -> "Tensor", "Tensor(a)[]" -> "Tensor[]",
// "Dict(str, t)(a!)" -> "Dict(str, t)".
std::string StripAlias(absl::string_view type) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (depth == 0 && c == '(' && OpensAlias(type, i)) {
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

// The number of values a schema's return list holds.
int CountReturns(absl::string_view returns) {
  absl::string_view r = absl::StripAsciiWhitespace(returns);
  if (!absl::StartsWith(r, "(")) return 1;
  // "((str, t)[])" is one list of tuples; "(Tensor, Tensor)" two values.
  return static_cast<int>(SplitTopLevel(r.substr(1, r.size() - 2)).size());
}

}  // namespace

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
  if (open == absl::string_view::npos || arrow == absl::string_view::npos || arrow < open) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read schema '", text, "'"));
  }
  absl::string_view qualified = text.substr(0, open);
  size_t dot = qualified.find('.', qualified.find("::"));
  schema.name = std::string(qualified.substr(0, dot));
  if (dot != absl::string_view::npos) schema.overload = std::string(qualified.substr(dot + 1));
  size_t close = text.rfind(')', arrow);
  if (close == absl::string_view::npos || close < open) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read schema '", text, "'"));
  }
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
    // An unnamed argument ("int[]") keeps its whole text as type and name.
    SchemaParam p;
    p.type = StripAlias(absl::StripAsciiWhitespace(decl.substr(0, space)));
    p.name = std::string(absl::StripAsciiWhitespace(decl.substr(space + 1)));
    p.kwarg_only = kwarg_only;
    schema.params.push_back(std::move(p));
  }
  schema.returns = CountReturns(text.substr(arrow + 2));
  return schema;
}

std::string AtenOpsStruct(const Schema& schema) {
  std::string base = schema.name.substr(schema.name.find("::") + 2);
  return schema.overload.empty() ? base : absl::StrCat(base, "_", schema.overload);
}

std::string AtenOpsHeader(const Schema& schema) {
  std::string header = schema.name.substr(schema.name.find("::") + 2);
  if (absl::StartsWith(header, "__") && absl::EndsWith(header, "__")) {
    return header.substr(2, header.size() - 4);
  }
  if (absl::EndsWith(header, "_")) header.pop_back();
  return header;
}

bool HasTypedForm(const Node& n, const Schema& schema) {
  for (size_t i = 0; i < n.args().size() && i < schema.params.size(); ++i) {
    const std::string& type = schema.params[i].type;
    if (absl::EndsWith(type, "[]?") && n.args()[i].is_node()) return false;
  }
  return true;
}

}  // namespace featx
