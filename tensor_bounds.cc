#include "tensor_bounds.h"

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "torch/csrc/jit/ir/ir.h"

namespace featx {

namespace {

constexpr int kMaxDepth = 100;  // containers inside containers

// The bytes of storage `t` reaches, or nullopt on a negative stride or
// offset, or on overflow.
std::optional<uint64_t> ReachedBytes(const at::Tensor& t) {
  if (t.storage_offset() < 0) return std::nullopt;
  uint64_t last = static_cast<uint64_t>(t.storage_offset());  // the furthest element
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.size(d) == 0) return 0;
    if (t.stride(d) < 0) return std::nullopt;
    uint64_t step = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.size(d) - 1),
                               static_cast<uint64_t>(t.stride(d)), &step) ||
        __builtin_add_overflow(last, step, &last)) {
      return std::nullopt;
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(last + 1, static_cast<uint64_t>(t.element_size()), &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

absl::Status CheckTensor(const at::Tensor& t, const std::string& where, const std::string& path) {
  if (!t.defined() || t.layout() != at::kStrided || !t.has_storage() || t.is_quantized()) {
    return absl::OkStatus();
  }
  std::optional<uint64_t> reached = ReachedBytes(t);
  uint64_t held = t.storage().nbytes();
  if (reached.has_value() && *reached <= held) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "'", path, "' is a damaged TorchScript file: tensor ", where, " (shape [",
      absl::StrJoin(t.sizes(), ", "), "], strides [", absl::StrJoin(t.strides(), ", "),
      "], offset ", t.storage_offset(), ") ",
      reached.has_value() ? absl::StrCat("reaches ", *reached, " bytes of a storage of ", held)
                          : "has a negative stride or offset, or overflows"));
}

absl::Status CheckValue(const c10::IValue& v, const std::string& where, const std::string& path,
                        int depth) {
  if (depth > kMaxDepth) return absl::OkStatus();
  if (v.isTensor()) return CheckTensor(v.toTensor(), where, path);
  if (v.isList()) {
    for (const c10::IValue& e : v.toListRef())
      RETURN_IF_ERROR(CheckValue(e, where, path, depth + 1));
  } else if (v.isTuple()) {
    for (const c10::IValue& e : v.toTupleRef().elements()) {
      RETURN_IF_ERROR(CheckValue(e, where, path, depth + 1));
    }
  } else if (v.isGenericDict()) {
    for (const auto& kv : v.toGenericDict()) {
      RETURN_IF_ERROR(CheckValue(kv.key(), where, path, depth + 1));
      RETURN_IF_ERROR(CheckValue(kv.value(), where, path, depth + 1));
    }
  } else if (v.isObject()) {
    // Submodules are listed by named_attributes; other objects (custom
    // classes) hold their own slots.
    const c10::ivalue::Object& o = v.toObjectRef();
    if (o.type()->is_module()) return absl::OkStatus();
    for (size_t i = 0; i < o.slots().size(); ++i) {
      RETURN_IF_ERROR(CheckValue(
          o.getSlot(i), absl::StrCat(where, ".", o.type()->getAttributeName(i)), path, depth + 1));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckConstants(torch::jit::Block* block, const std::string& where,
                            const std::string& path) {
  for (torch::jit::Node* n : block->nodes()) {
    if (n->kind() == c10::prim::Constant && n->outputs().size() == 1) {
      c10::optional<c10::IValue> v = torch::jit::toIValue(n->output());
      if (v.has_value()) RETURN_IF_ERROR(CheckValue(*v, where, path, 0));
    }
    for (torch::jit::Block* b : n->blocks()) RETURN_IF_ERROR(CheckConstants(b, where, path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTensorBounds(const torch::jit::Module& model, const std::string& path) {
  for (const auto& a : model.named_attributes(/*recurse=*/true)) {
    RETURN_IF_ERROR(CheckValue(a.value, absl::StrCat("'", a.name, "'"), path, 0));
  }
  for (const auto& m : model.named_modules()) {
    for (const torch::jit::Method& method : m.value.get_methods()) {
      std::string name = m.name.empty() ? method.name() : absl::StrCat(m.name, ".", method.name());
      RETURN_IF_ERROR(CheckConstants(method.graph()->block(),
                                     absl::StrCat("a constant of ", name, "()"), path));
    }
  }
  return absl::OkStatus();
}

}  // namespace featx
