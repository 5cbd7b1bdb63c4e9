#include "codegen/builtins.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace featx {

namespace {

// Target -> lowering. Python semantics that C++ does not share are spelled
// out: max()/min() of an empty list raise, round() rounds half to even
// (std::nearbyint under the default rounding mode), int() truncates.
const std::map<std::string, BuiltinLowering, std::less<>>& Table() {
  static const auto* table = new std::map<std::string, BuiltinLowering, std::less<>>{
      // Scalars.
      {"prim::max.float", {"std::max<double>($0, $1)"}},
      {"prim::min.float", {"std::min<double>($0, $1)"}},
      {"prim::max.int_float", {"std::max<double>(static_cast<double>($0), $1)"}},
      {"prim::min.int_float", {"std::min<double>(static_cast<double>($0), $1)"}},
      {"prim::max.float_int", {"std::max<double>($0, static_cast<double>($1))"}},
      {"prim::min.float_int", {"std::min<double>($0, static_cast<double>($1))"}},
      {"aten::floor.int", {"$0"}},
      {"aten::ceil.int", {"$0"}},
      {"aten::abs.float", {"std::abs($0)"}},
      {"aten::round.float", {"std::nearbyint($0)"}},
      {"aten::round.int", {"static_cast<double>($0)"}},
      {"aten::Int.Scalar", {"$0.toLong()"}},
      {"aten::Float.Scalar", {"$0.toDouble()"}},
      {"aten::Float.float", {"$0"}},
      {"aten::Int.int", {"$0"}},
      {"aten::IntImplicit", {"$0.item<int64_t>()"}},
      {"aten::FloatImplicit", {"$0.item<double>()"}},
      {"prim::NumToTensor.Scalar", {"at::scalar_to_tensor($0)", nullptr, "ATen/ScalarOps.h"}},
      // Tensors' sizes.
      {"aten::numel", {"$0.numel()"}},
      {"aten::len.Tensor", {"$0.size(0)"}},
      // Lists: max()/min() of one list, and of two (lexicographic, as Python).
      {"prim::max.self_int", {"ListMax($0)", "listminmax"}},
      {"prim::min.self_int", {"ListMin($0)", "listminmax"}},
      {"prim::max.self_float", {"ListMax($0)", "listminmax"}},
      {"prim::min.self_float", {"ListMin($0)", "listminmax"}},
      {"prim::max.int_list", {"std::max($0, $1)"}},
      {"prim::min.int_list", {"std::min($0, $1)"}},
      {"prim::max.float_list", {"std::max($0, $1)"}},
      {"prim::min.float_list", {"std::min($0, $1)"}},
      {"aten::__contains__.float_list", {"(std::find($0.begin(), $0.end(), $1) != $0.end())"}},
      {"aten::__contains__.str_list", {"(std::find($0.begin(), $0.end(), $1) != $0.end())"}},
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
  return *table;
}

}  // namespace

const BuiltinLowering* FindBuiltinLowering(absl::string_view target) {
  auto it = Table().find(target);
  return it == Table().end() ? nullptr : &it->second;
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

std::string BuiltinHelperSource(absl::string_view name) {
  if (name == "listminmax") {
    return "// max(list) / min(list): Python raises on an empty list.\n"
           "template <typename T>\nT ListMax(const std::vector<T>& v) {\n"
           "  TORCH_CHECK(!v.empty(), \"max() arg is an empty sequence\");\n"
           "  return *std::max_element(v.begin(), v.end());\n}\n"
           "template <typename T>\nT ListMin(const std::vector<T>& v) {\n"
           "  TORCH_CHECK(!v.empty(), \"min() arg is an empty sequence\");\n"
           "  return *std::min_element(v.begin(), v.end());\n}\n\n";
  }
  if (name == "dictat") {
    return "// d[key], raising Python's KeyError text for a missing key.\n"
           "template <typename V>\nV DictAt(const c10::Dict<std::string, V>& d, const std::string& key) {\n"
           "  auto it = d.find(key);\n"
           "  TORCH_CHECK(it != d.end(), \"KeyError: '\", key, \"'\");\n"
           "  return it->value();\n}\n\n";
  }
  if (name == "dictfrompairs") {
    return "// dict(pairs): a later pair replaces an earlier one's value in place.\n"
           "template <typename D, typename P>\nD DictFromPairs(const std::vector<P>& pairs) {\n"
           "  D d;\n  for (const auto& p : pairs) d.insert_or_assign(std::get<0>(p), std::get<1>(p));\n"
           "  return d;\n}\n\n";
  }
  if (name == "dictkeys") {
    return "// d.keys() / d.values(), in insertion order.\n"
           "template <typename V>\nstd::vector<std::string> DictKeys(const c10::Dict<std::string, V>& d) {\n"
           "  std::vector<std::string> out;\n  for (const auto& item : d) out.push_back(item.key());\n"
           "  return out;\n}\n"
           "template <typename V>\nstd::vector<V> DictValues(const c10::Dict<std::string, V>& d) {\n"
           "  std::vector<V> out;\n  for (const auto& item : d) out.push_back(item.value());\n"
           "  return out;\n}\n\n";
  }
  return "";
}

}  // namespace featx
