// weights_writer.h
//
// Writes a generated extractor's weights file (format: weights.h). The one
// part of the weights format that needs LibTorch, so it is its own target
// (//codegen:weights_writer), beside the LibTorch-free emitter.
//
//   absl::StatusOr<std::vector<char>> bytes =
//       featx::WriteWeightsFile(source.fingerprint, {{"conv.weight", w}});

#ifndef FEATX_CODEGEN_WEIGHTS_WRITER_H_
#define FEATX_CODEGEN_WEIGHTS_WRITER_H_

#include <string>
#include <utility>
#include <vector>

#include "ATen/core/Tensor.h"
#include "absl/status/statusor.h"

namespace featx {

// The weights file holding `tensors` (get_attr target, tensor) for the
// generated code with `fingerprint`. Tensors are written detached and
// contiguous. Internal if LibTorch cannot serialize them.
absl::StatusOr<std::vector<char>> WriteWeightsFile(
    const std::string& fingerprint, const std::vector<std::pair<std::string, at::Tensor>>& tensors);

}  // namespace featx

#endif  // FEATX_CODEGEN_WEIGHTS_WRITER_H_
