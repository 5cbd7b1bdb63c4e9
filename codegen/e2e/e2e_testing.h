// e2e_testing.h
//
// What the end-to-end tests of generated extractors share: where a generated
// extractor's weights file is, and the TorchScript extractor's outputs that
// generated code is compared with.
//
//   auto f = e2e::SeedCnnFeatures::Load(featx::testing::GeneratedWeights(
//       "codegen/e2e", "seed_cnn_features"));
//   c10::Dict<std::string, at::Tensor> want = featx::testing::TorchScriptFeatures(
//       "fixtures/seed_cnn.pt", {"blocks.1"}, x);

#ifndef FEATX_CODEGEN_E2E_E2E_TESTING_H_
#define FEATX_CODEGEN_E2E_E2E_TESTING_H_

#include <string>
#include <vector>

#include "ATen/core/Dict.h"
#include "ATen/core/Tensor.h"

namespace featx::testing {

// The runfile `<package>/<stem>.weights` of a cc_feature_extractor in this
// workspace; a test failure if it is missing.
std::string GeneratedWeights(const std::string& package, const std::string& stem);

// CreateFeatureExtractor(model at `model_path`, `return_nodes`) run in eval
// mode on `x`, without grad; test failures if it cannot be built.
c10::Dict<std::string, at::Tensor> TorchScriptFeatures(const std::string& model_path,
                                                       const std::vector<std::string>& return_nodes,
                                                       const at::Tensor& x);

}  // namespace featx::testing

#endif  // FEATX_CODEGEN_E2E_E2E_TESTING_H_
