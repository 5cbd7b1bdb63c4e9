#include "codegen/builtins.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace featx {

namespace {

// ---- custom lowerings: they need the node, not only its arguments.

// list(x): a mutable copy of a list node or a list literal.
absl::StatusOr<std::string> ListCopy(const LoweringContext& c) {
  ASSIGN_OR_RETURN(std::string elem_type, CppType(ListElementType(c.node.type())));
  const Argument& a = c.node.args()[0];
  if (a.is_node()) return c.exprs.Value(a.node());
  std::vector<std::string> parts;
  for (const Argument& e : a.elements()) {
    ASSIGN_OR_RETURN(std::string p, c.exprs.Expr(e, ""));
    parts.push_back(p);
  }
  return absl::StrCat("std::vector<", elem_type, ">{", absl::StrJoin(parts, ", "), "}");
}

bool IsNoneValue(const Argument& a) {
  return a.kind() == Argument::Kind::kNone || (a.is_node() && a.node()->type() == "NoneType");
}

// `x is None` / `x is not None`: constant for a value that cannot be None,
// has_value() for an optional; `a is b` on tensors is identity.
absl::StatusOr<std::string> IsNone(const LoweringContext& c, bool is) {
  const std::vector<Argument>& args = c.node.args();
  if (args.size() != 2) return absl::UnimplementedError("`is` needs two operands");
  const Argument* value = nullptr;
  if (IsNoneValue(args[0])) {
    value = &args[1];
  } else if (IsNoneValue(args[1])) {
    value = &args[0];
  } else if (args[0].is_node() && args[1].is_node() && args[0].node()->type() == "Tensor" &&
             args[1].node()->type() == "Tensor") {
    // Tensor identity (MultiheadAttention's `query is key`).
    ASSIGN_OR_RETURN(std::string a, c.exprs.Value(args[0].node()));
    ASSIGN_OR_RETURN(std::string b, c.exprs.Value(args[1].node()));
    return absl::StrCat(is ? "" : "!", a, ".is_same(", b, ")");
  } else {
    return absl::UnimplementedError("`is` between values that are neither None nor tensors");
  }
  if (IsNoneValue(*value)) return std::string(is ? "true" : "false");
  if (!value->is_node()) return std::string(is ? "false" : "true");
  if (IsOptionalType(value->node()->type())) {
    ASSIGN_OR_RETURN(std::string v, c.exprs.Value(value->node()));
    return absl::StrCat(is ? "!" : "", v, ".has_value()");
  }
  return std::string(is ? "false" : "true");
}

absl::StatusOr<std::string> Is(const LoweringContext& c) { return IsNone(c, true); }
absl::StatusOr<std::string> IsNot(const LoweringContext& c) { return IsNone(c, false); }

// torch.tensor(<python number>): int64, the default float dtype, or bool.
absl::StatusOr<std::string> ScalarTensor(const LoweringContext& c) {
  const std::string& target = c.node.target();
  const std::vector<std::string>& a = c.args;
  std::string fallback = target == "aten::tensor.int" ? "at::kLong"
                         : target == "aten::tensor.bool"
                             ? "at::kBool"
                             : "at::typeMetaToScalarType(at::get_default_dtype())";
  std::string dtype = a.size() > 1 && a[1] != "c10::nullopt" ? a[1] : fallback;
  std::string device = a.size() > 2 && a[2] != "c10::nullopt" ? a[2] : "at::kCPU";
  return absl::StrCat("at::scalar_tensor(at::Scalar(", a[0], "), at::TensorOptions().dtype(", dtype,
                      ").device(", device, "))");
}

// ---- the table

// Target -> lowering. Python semantics that C++ does not share are spelled
// out: // and % round toward negative infinity, max()/min() of an empty list
// raise, round() rounds half to even (std::nearbyint under the default
// rounding mode), int() truncates, list[i] takes negative indices.
struct Row {
  const char* target;
  BuiltinLowering lowering;
};

constexpr Row kRows[] = {
    // Integer, float, bool and string arithmetic and comparisons.
    {"aten::add.int", {"($0 + $1)"}},
    {"aten::sub.int", {"($0 - $1)"}},
    {"aten::mul.int", {"($0 * $1)"}},
    {"aten::eq.int", {"($0 == $1)"}},
    {"aten::ne.int", {"($0 != $1)"}},
    {"aten::lt.int", {"($0 < $1)"}},
    {"aten::le.int", {"($0 <= $1)"}},
    {"aten::gt.int", {"($0 > $1)"}},
    {"aten::ge.int", {"($0 >= $1)"}},
    {"aten::add.float", {"($0 + $1)"}},
    {"aten::sub.float", {"($0 - $1)"}},
    {"aten::mul.float", {"($0 * $1)"}},
    {"aten::div.float", {"($0 / $1)"}},
    {"aten::eq.float", {"($0 == $1)"}},
    {"aten::ne.float", {"($0 != $1)"}},
    {"aten::lt.float", {"($0 < $1)"}},
    {"aten::le.float", {"($0 <= $1)"}},
    {"aten::gt.float", {"($0 > $1)"}},
    {"aten::ge.float", {"($0 >= $1)"}},
    {"aten::mul.float_int", {"($0 * $1)"}},
    {"aten::mul.int_float", {"($0 * $1)"}},
    {"aten::add.float_int", {"($0 + $1)"}},
    {"aten::add.int_float", {"($0 + $1)"}},
    {"aten::sub.float_int", {"($0 - $1)"}},
    {"aten::sub.int_float", {"($0 - $1)"}},
    {"aten::gt.float_int", {"($0 > $1)"}},
    {"aten::eq.str", {"($0 == $1)"}},
    {"aten::ne.str", {"($0 != $1)"}},
    {"aten::eq.bool", {"($0 == $1)"}},
    {"aten::ne.bool", {"($0 != $1)"}},
    {"aten::__and__.bool", {"($0 && $1)"}},
    {"aten::__or__.bool", {"($0 || $1)"}},
    {"aten::__not__", {"!$0"}},
    {"aten::neg.int", {"(-($0))"}},
    {"aten::neg.float", {"(-($0))"}},
    {"aten::div.int", {"(static_cast<double>($0) / $1)"}},
    {"aten::floordiv.int", {"FloorDiv($0, $1)", "floordiv"}},
    {"aten::remainder.int", {"Remainder($0, $1)", "remainder"}},
    {"aten::pow.int_float", {"std::pow(static_cast<double>($0), $1)"}},
    {"aten::sqrt.int", {"std::sqrt(static_cast<double>($0))"}},
    {"aten::abs.int", {"std::abs($0)"}},
    {"aten::abs.float", {"std::abs($0)"}},
    {"aten::floor.float", {"static_cast<int64_t>(std::floor($0))"}},
    {"aten::ceil.float", {"static_cast<int64_t>(std::ceil($0))"}},
    {"aten::floor.int", {"$0"}},
    {"aten::ceil.int", {"$0"}},
    {"aten::round.float", {"std::nearbyint($0)"}},
    {"aten::round.int", {"static_cast<double>($0)"}},
    {"prim::min.int", {"std::min<int64_t>($0, $1)"}},
    {"prim::max.int", {"std::max<int64_t>($0, $1)"}},
    {"prim::max.float", {"std::max<double>($0, $1)"}},
    {"prim::min.float", {"std::min<double>($0, $1)"}},
    {"prim::max.int_float", {"std::max<double>(static_cast<double>($0), $1)"}},
    {"prim::min.int_float", {"std::min<double>(static_cast<double>($0), $1)"}},
    {"prim::max.float_int", {"std::max<double>($0, static_cast<double>($1))"}},
    {"prim::min.float_int", {"std::min<double>($0, static_cast<double>($1))"}},
    // Conversions.
    {"aten::Float.int", {"((double)($0))"}},
    {"aten::Float.bool", {"((double)($0))"}},
    {"aten::Int.float", {"((int64_t)($0))"}},
    {"aten::Int.bool", {"((int64_t)($0))"}},
    {"aten::Bool.int", {"((bool)($0))"}},
    {"aten::Int.Scalar", {"$0.toLong()"}},
    {"aten::Float.Scalar", {"$0.toDouble()"}},
    {"aten::Float.float", {"$0"}},
    {"aten::Int.int", {"$0"}},
    {"aten::Bool.Tensor", {"$0.item<bool>()"}},
    {"aten::Int.Tensor", {"$0.item<int64_t>()"}},
    {"aten::Float.Tensor", {"$0.item<double>()"}},
    {"aten::IntImplicit", {"$0.item<int64_t>()"}},
    {"aten::FloatImplicit", {"$0.item<double>()"}},
    {"prim::NumToTensor.Scalar", {"at::scalar_to_tensor($0)", nullptr, "ATen/ScalarOps.h"}},
    {"aten::tensor.int", {nullptr, nullptr, "ATen/ops/scalar_tensor.h", false, &ScalarTensor}},
    {"aten::tensor.float", {nullptr, nullptr, "ATen/ops/scalar_tensor.h", false, &ScalarTensor}},
    {"aten::tensor.bool", {nullptr, nullptr, "ATen/ops/scalar_tensor.h", false, &ScalarTensor}},
    {"aten::str", {"c10::str($0)"}},
    // Tensors' properties.
    {"aten::dim", {"static_cast<int64_t>($0.dim())"}},
    {"aten::size", {"$0.sizes().vec()"}},
    {"aten::numel", {"$0.numel()"}},
    {"aten::len.Tensor", {"$0.size(0)"}},
    {"prim::is_cuda", {"$0.is_cuda()"}},
    {"prim::is_nested", {"$0.is_nested()"}},
    {"prim::requires_grad", {"$0.requires_grad()"}},
    {"prim::device", {"$0.device()"}},
    {"prim::dtype", {"static_cast<int64_t>($0.scalar_type())"}},
    {"aten::is_grad_enabled", {"at::GradMode::is_enabled()"}},
    {"aten::is_autocast_enabled", {"at::autocast::is_enabled()", nullptr, "ATen/autocast_mode.h"}},
    // None checks; a placeholder only read on paths that raise.
    {"aten::__is__", {nullptr, nullptr, nullptr, false, &Is}},
    {"aten::__isnot__", {nullptr, nullptr, nullptr, false, &IsNot}},
    {"prim::Uninitialized", {"$T{}"}},
    // Errors.
    {"aten::warn", {"TORCH_WARN($0)", nullptr, nullptr, true}},
    {"prim::RaiseException", {"TORCH_CHECK(false, $0)", nullptr, nullptr, true}},
    // Lists, with Python's negative indices and slices.
    {"aten::len.t", {"static_cast<int64_t>($0.size())"}},
    {"aten::__getitem__.t", {"GetItem($0, $1)", "getitem"}},
    {"aten::_set_item.t", {"SetItem($0, $1, $2)", "getitem", nullptr, true}},
    {"aten::append.t", {"$0.push_back($1)", nullptr, nullptr, true}},
    {"aten::slice.t", {"SliceList($0, $1, $2, $3)", "slice"}},
    {"aten::list.t", {nullptr, nullptr, nullptr, false, &ListCopy}},
    {"aten::add.t", {"ConcatLists($0, $1)", "concat"}},
    {"aten::sum.int", {"std::accumulate($0.begin(), $0.end(), int64_t{0})"}},
    {"aten::eq.int_list", {"($0 == $1)"}},
    {"aten::ne.int_list", {"($0 != $1)"}},
    {"aten::__contains__.int_list", {"Contains($0, $1)", "contains"}},
    {"aten::__contains__.float_list", {"(std::find($0.begin(), $0.end(), $1) != $0.end())"}},
    {"aten::__contains__.str_list", {"(std::find($0.begin(), $0.end(), $1) != $0.end())"}},
    {"aten::all.bool", {"AllOf($0)", "allany"}},
    {"aten::any.bool", {"AnyOf($0)", "allany"}},
    // max()/min() of one list, and of two (lexicographic, as Python).
    {"prim::max.self_int", {"ListMax($0)", "listminmax"}},
    {"prim::min.self_int", {"ListMin($0)", "listminmax"}},
    {"prim::max.self_float", {"ListMax($0)", "listminmax"}},
    {"prim::min.self_float", {"ListMin($0)", "listminmax"}},
    {"prim::max.int_list", {"std::max($0, $1)"}},
    {"prim::min.int_list", {"std::min($0, $1)"}},
    {"prim::max.float_list", {"std::max($0, $1)"}},
    {"prim::min.float_list", {"std::min($0, $1)"}},
    // Strings.
    {"aten::add.str", {"(std::string($0) + $1)"}},
    {"aten::len.str", {"static_cast<int64_t>(std::string($0).size())"}},
    {"aten::find", {"Find($0, $1, $2, $3)", "find"}},
    // Dicts with string keys: c10::Dict shares its storage on copy, as a
    // Python dict does on assignment.
    {"aten::dict", {"$T()"}},
    {"aten::dict.Dict_str", {"$0.copy()"}},
    {"aten::dict.str", {"DictFromPairs<$T>($0)", "dictfrompairs"}},
    {"aten::_set_item.str", {"$0.insert_or_assign($1, $2)", nullptr, nullptr, true}},
    {"aten::__getitem__.Dict_str", {"DictAt($0, $1)", "dictat"}},
    {"aten::len.Dict_str", {"static_cast<int64_t>($0.size())"}},
    {"aten::__contains__.str", {"$0.contains($1)"}},
    {"aten::keys.str", {"DictKeys($0)", "dictkeys"}},
    {"aten::values.str", {"DictValues($0)", "dictkeys"}},
};

using Table = std::map<std::string, BuiltinLowering, std::less<>>;

const Table& Lowerings() {
  static const auto* table = [] {
    auto* t = new Table;
    for (const Row& row : kRows) t->emplace(row.target, row.lowering);
    return t;
  }();
  return *table;
}

}  // namespace

const BuiltinLowering* FindBuiltinLowering(absl::string_view target) {
  auto it = Lowerings().find(target);
  return it == Lowerings().end() ? nullptr : &it->second;
}

std::string FillTemplate(absl::string_view tmpl, const std::vector<std::string>& args,
                         absl::string_view type) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '$' && i + 1 < tmpl.size()) {
      char c = tmpl[i + 1];
      if (c == 'T') {
        absl::StrAppend(&out, type);
        ++i;
        continue;
      }
      if (absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
          static_cast<size_t>(c - '0') < args.size()) {
        absl::StrAppend(&out, args[c - '0']);
        ++i;
        continue;
      }
    }
    out += tmpl[i];
  }
  return out;
}

}  // namespace featx
