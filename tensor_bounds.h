// tensor_bounds.h (internal to //:featx)
//
// LoadModel's check of a loaded module's tensors: every tensor's shape,
// strides and offset must lie inside its storage.
//
// LibTorch 1.13 rebuilds a tensor from the sizes and strides its pickle
// states without checking them against the storage: a file saying (30, 4)
// for a 12-element weight loads, and convolutions, matrix products and
// featx's weights writer then read heap memory past the storage. Together
// with model_file.h (each storage no larger than its record) this keeps a
// model file's tensors inside the bytes the file holds.

#ifndef FEATX_TENSOR_BOUNDS_H_
#define FEATX_TENSOR_BOUNDS_H_

#include <string>

#include "absl/status/status.h"
#include "torch/csrc/jit/api/module.h"

namespace featx {

// OK, or InvalidArgument naming `path` and the first tensor (attribute path,
// or the method whose code holds it as a constant) that reaches past its
// storage, or has a negative stride or offset.
absl::Status CheckTensorBounds(const torch::jit::Module& model, const std::string& path);

}  // namespace featx

#endif  // FEATX_TENSOR_BOUNDS_H_
