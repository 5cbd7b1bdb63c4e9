#include "codegen/e2e/e2e_testing.h"

#include "codegen/runfiles.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace featx::testing {

std::string GeneratedWeights(const std::string& package, const std::string& stem) {
  std::string path = FindRunfile("featx/" + package + "/" + stem + ".weights", nullptr);
  EXPECT_FALSE(path.empty()) << package << "/" << stem << ".weights";
  return path;
}

c10::Dict<std::string, at::Tensor> TorchScriptFeatures(const std::string& model_path,
                                                       const std::vector<std::string>& return_nodes,
                                                       const at::Tensor& x) {
  c10::Dict<std::string, at::Tensor> out;
  absl::StatusOr<torch::jit::Module> m = LoadModel(model_path);
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok()) return out;
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*m, {.return_nodes = return_nodes});
  EXPECT_TRUE(extractor.ok()) << extractor.status();
  if (!extractor.ok()) return out;
  extractor->eval();
  torch::NoGradGuard no_grad;
  for (const auto& item : extractor->forward({x}).toGenericDict()) {
    out.insert(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

}  // namespace featx::testing
