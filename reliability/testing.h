// Helpers shared by the reliability tests (issue 10, points 5-8): loading
// fixtures, running extractors into plain maps, and snapshots of everything a
// TorchScript module holds, to prove that featx leaves a source model as it was.

#ifndef FEATX_RELIABILITY_TESTING_H_
#define FEATX_RELIABILITY_TESTING_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ATen/core/Tensor.h"
#include "torch/csrc/jit/api/module.h"

namespace featx::reliability {

// A fixture model from //fixtures ("resnet18.pt"), loaded with featx::LoadModel.
// Fails the test (and returns an empty module) if it cannot be loaded.
torch::jit::Module LoadFixture(const std::string& name);

// A key -> tensor map, in key order (the extractor's own order is checked by
// other tests; these compare values).
using Features = std::map<std::string, at::Tensor>;

// Runs a TorchScript extractor (its current training flag) without autograd.
Features RunTorchScript(torch::jit::Module& extractor, const at::Tensor& x);

// randn(shape) from its own generator seeded with `seed`: the same tensor in
// every thread and process, whatever else draws random numbers.
at::Tensor Input(std::vector<int64_t> shape, uint64_t seed);

// True if both have the same keys, and per key the same dtype, shape and
// values bit for bit (NaN == NaN); otherwise false with the first difference.
bool BitIdentical(const Features& a, const Features& b, std::string* why);

// The largest |a - b| over all keys (infinity if keys, shapes or dtypes
// differ), and the largest |b| (the features' scale).
double MaxAbsDiff(const Features& a, const Features& b, double* scale = nullptr);

// One parameter or buffer of a module.
struct TensorState {
  std::string path;  // "layer1.0.bn1.running_mean"
  bool is_parameter = false;
  const void* impl = nullptr;  // identity: the TensorImpl
  const void* data = nullptr;  // and its storage
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> sizes, strides;
  bool requires_grad = false;
  int64_t version = 0;  // the version counter: bumped by every in-place write
  at::Tensor value;     // a copy taken at snapshot time
};

// Everything featx could change in a module, recursively.
struct ModuleSnapshot {
  std::vector<std::pair<std::string, bool>> training;  // every module path -> flag
  std::vector<TensorState> tensors;
  // Other attributes, printed ("layer1.0.bn1.eps = 1e-05"), and each module's
  // type: its name, attribute count and the text of every method's graph.
  std::vector<std::string> other;
};

ModuleSnapshot Snapshot(const torch::jit::Module& model);

// Every difference between two snapshots of one module, one line each; empty
// if none. Values are compared bit for bit.
std::vector<std::string> Differences(const ModuleSnapshot& before, const ModuleSnapshot& after);

}  // namespace featx::reliability

#endif  // FEATX_RELIABILITY_TESTING_H_
