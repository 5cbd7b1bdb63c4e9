// Runs two feature extractors that cc_feature_extractor generated as C++ at
// build time, and prints each feature's key and shape:
//
//   ./bazelw run //examples/codegen
//   bazel-bin/examples/codegen/codegen        # also works when started directly
//
// Neither extractor needs featx or TorchScript at run time: each is a class
// with its pruned weights in a runfile next to it.

#include <iostream>
#include <string>

#include "ATen/ATen.h"
#include "c10/core/InferenceMode.h"
#include "codegen/runfiles.h"
#include "examples/codegen/resnet18_features.h"
#include "examples/codegen/seed_cnn_features.h"

namespace {

// Loads an extractor from its weights runfile ("featx/<package>/<stem>.weights")
// and prints the features it computes for `input`.
template <typename Extractor>
bool Run(const char* title, const std::string& weights_runfile, const at::Tensor& input,
         const char* argv0) {
  std::string weights = featx::FindRunfile(weights_runfile, argv0);
  if (weights.empty()) {
    std::cerr << "codegen: runfile " << weights_runfile << " not found\n";
    return false;
  }
  Extractor extractor = Extractor::Load(weights);
  typename Extractor::Features features = extractor(input);
  std::cout << title << input.sizes() << ":\n";
  for (const auto& item : features.ToDict()) {
    std::cout << "  " << item.key() << ": " << item.value().sizes() << "\n";
  }
  return true;
}

}  // namespace

int main(int /*argc*/, char** argv) {
  c10::InferenceMode inference;
  try {
    bool ok = Run<examples::SeedCnnFeatures>("examples::SeedCnnFeatures on zeros",
                                             "featx/examples/codegen/seed_cnn_features.weights",
                                             at::zeros({1, 3, 32, 32}), argv[0]);
    ok = ok && Run<vision::ResNet18Features>("vision::ResNet18Features on zeros",
                                             "featx/examples/codegen/resnet18_features.weights",
                                             at::zeros({1, 3, 224, 224}), argv[0]);
    return ok ? 0 : 1;
  } catch (const c10::Error& e) {
    std::cerr << "codegen: " << e.what_without_backtrace() << "\n";
    return 1;
  }
}
