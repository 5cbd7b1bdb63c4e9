#include "tracer/fx_source.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace featx {

namespace jit = ::torch::jit;

std::string Location(const jit::Node* node) {
  // The user's Python source when the archive records it, else the
  // serialized TorchScript code.
  c10::optional<jit::SourceRange> original = node->sourceRange().findSourceRangeThatGenerated();
  auto flc = (original.has_value() ? *original : node->sourceRange()).file_line_col();
  if (!flc.has_value()) flc = node->sourceRange().file_line_col();
  if (!flc.has_value()) return "";
  const auto& [file, line, col] = *flc;
  std::vector<std::string> parts = absl::StrSplit(file, '/');
  return absl::StrCat(parts.back(), ":", line, ":", col);
}

bool IsForward(absl::string_view method) {
  if (method == "forward") return true;
  if (!absl::ConsumePrefix(&method, "forward__") || method.empty()) return false;
  return std::all_of(method.begin(), method.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace {

// Positions of `text` at bracket depth 0, outside string literals.
std::vector<size_t> TopLevelPositions(absl::string_view text) {
  std::vector<size_t> positions;
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '"' || c == '\'')
      quote = c;
    else if (c == '(' || c == '[' || c == '{')
      ++depth;
    else if (c == ')' || c == ']' || c == '}')
      --depth;
    else if (depth == 0)
      positions.push_back(i);
  }
  return positions;
}

// `y += x` is operator.add in FX (a Proxy has no __iadd__, so Python falls
// back to __add__), while TorchScript writes aten::add_. Returns the operator
// module's name for an augmented assignment statement, else "".
std::string AugmentedAssignmentOp(absl::string_view text) {
  static constexpr std::pair<absl::string_view, absl::string_view> kOps[] = {
      {"**=", "pow"}, {"//=", "floordiv"}, {"<<=", "lshift"}, {">>=", "rshift"}, {"+=", "add"},
      {"-=", "sub"},  {"*=", "mul"},       {"/=", "truediv"}, {"%=", "mod"},     {"&=", "and_"},
      {"|=", "or_"},  {"^=", "xor"},       {"@=", "matmul"}};
  for (size_t i : TopLevelPositions(text)) {
    for (const auto& [symbol, name] : kOps) {
      if (text.substr(i, symbol.size()) == symbol) return std::string(name);
    }
    if (text[i] == '=') return "";  // a plain assignment or a comparison
  }
  return "";
}

// True if `text` has a subscript at bracket depth 0: `x[0]`, `x.shape[-2:]`.
bool HasTopLevelSubscript(absl::string_view text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '[' && depth == 0 && i > 0) return true;
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
  }
  return false;
}

// TorchScript defines some tensor properties as builtin functions in its own
// source ("def shape(a : Tensor) -> List[int]: return a.size()", "def
// ndim(a : Tensor) -> int: return a.dim()"); FX reads them as attributes.
bool FromBuiltinProperty(const jit::SourceRange& range) {
  const std::shared_ptr<jit::Source>& source = range.source();
  if (source == nullptr || source->text_str().size() > 4096) return false;
  const c10::optional<std::string>& file = source->filename();
  if (file.has_value() && *file != "<string>") return false;
  std::string all = source->text_str().str();
  size_t def = all.rfind("def ", range.start());
  if (def == std::string::npos) return false;
  absl::string_view name = absl::string_view(all).substr(def + 4);
  name = name.substr(0, name.find('('));
  return name == "shape" || name == "ndim" || name == "T" || name == "H" || name == "mT" ||
         name == "mH";
}

}  // namespace

// Only the start of a recorded range is reliable: its end may stop short
// ("x.shape[-2:" for `x.shape[-2:]`, "x.dim" for `x.dim()`), so the rules
// below look for what a range begins with or contains, never how it ends.
std::string FxOpFromSource(const jit::Node* node) {
  c10::Symbol kind = node->kind();
  // Tensor attributes TorchScript reads with an operator of their own.
  if (kind == c10::prim::dtype || kind == c10::prim::device || kind == c10::prim::layout ||
      kind == c10::prim::requires_grad || kind == c10::prim::is_cuda) {
    return "getattr";
  }
  // A loaded module's node points into the serialized code (code/__torch__.py),
  // which in turn records the range of the original Python source.
  c10::optional<jit::SourceRange> original = node->sourceRange().findSourceRangeThatGenerated();
  if (!original.has_value()) return "";
  const jit::SourceRange& range = *original;
  if (range.source() == nullptr || range.size() == 0 || range.size() > 2048) return "";
  std::string text = range.text().str();
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (kind == c10::aten::size && node->inputs().size() == 1) {
    if (FromBuiltinProperty(range) || absl::StrContains(trimmed, ".shape")) return "getattr";
    return "";
  }
  if (kind == c10::aten::dim && FromBuiltinProperty(range)) return "getattr";
  if (kind == c10::aten::slice || kind == c10::aten::select || kind == c10::aten::index ||
      kind == c10::aten::__getitem__) {
    return HasTopLevelSubscript(trimmed) ? "getitem" : "";
  }
  if (std::string op = AugmentedAssignmentOp(trimmed); !op.empty()) return op;
  // Python operators whose operator-module name differs from ATen's.
  std::vector<size_t> top = TopLevelPositions(trimmed);
  auto has_top_level = [&](absl::string_view symbol, char not_followed_by) {
    for (size_t i : top) {
      if (trimmed.substr(i, symbol.size()) != symbol) continue;
      if (i > 0 && trimmed[i - 1] == symbol[0]) continue;  // "//" is not "/"
      size_t next = i + symbol.size();
      if (not_followed_by != 0 && next < trimmed.size() && trimmed[next] == not_followed_by) {
        continue;
      }
      return true;
    }
    return false;
  };
  if (kind == c10::aten::div && has_top_level("/", '/')) return "truediv";
  if ((kind == c10::aten::floor_divide || kind == c10::aten::floordiv) && has_top_level("//", 0)) {
    return "floordiv";
  }
  if ((kind == c10::aten::remainder || kind == c10::aten::fmod) && has_top_level("%", 0)) {
    return "mod";
  }
  if (kind == c10::aten::bitwise_not && absl::StartsWith(trimmed, "~")) return "invert";
  return "";
}

}  // namespace featx
