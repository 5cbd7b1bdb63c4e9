#include "codegen/weights_writer.h"

#include <cstdint>

#include "ATen/core/Dict.h"
#include "absl/strings/str_cat.h"
#include "codegen/weights.h"
#include "torch/csrc/jit/serialization/pickle.h"

namespace featx {

absl::StatusOr<std::vector<char>> WriteWeightsFile(
    const std::string& fingerprint,
    const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  try {
    c10::Dict<std::string, at::Tensor> entries;
    for (const auto& [name, tensor] : tensors) entries.insert(name, tensor.detach().contiguous());
    c10::impl::GenericDict file(c10::StringType::get(), c10::AnyType::get());
    file.insert("format_version", static_cast<int64_t>(kWeightsFormatVersion));
    file.insert("fingerprint", fingerprint);
    file.insert("tensors", entries);
    return torch::jit::pickle_save(file);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return absl::InternalError(
        absl::StrCat("cannot write the weights file: ", what.substr(0, what.find('\n'))));
  }
}

}  // namespace featx
