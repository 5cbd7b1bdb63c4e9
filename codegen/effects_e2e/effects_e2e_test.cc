// Generated C++ for the effects models against PyTorch's own forward on ones
// and on randn (fixtures/effects_models.py): the C++ back end keeps exactly
// the in-place calls the TorchScript back end keeps (//:effects_test).

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "codegen/effects_e2e/add_into_statement_features.h"
#include "codegen/effects_e2e/write_in_branch_features.h"
#include "codegen/effects_e2e/write_in_leaf_body_features.h"
#include "codegen/effects_e2e/write_through_branch_result_features.h"
#include "codegen/runfiles.h"
#include "gtest/gtest.h"
#include "torch/csrc/jit/serialization/pickle.h"
#include "torch/script.h"

namespace {

at::Tensor Expected(const std::string& model, const std::string& key) {
  std::string path = "fixtures/effects/" + model + "_expected.pt";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::Dict<c10::IValue, c10::IValue> d = torch::jit::pickle_load(bytes).toGenericDict();
  EXPECT_TRUE(d.contains(key)) << key;
  return d.contains(key) ? d.at(key).toTensor() : at::zeros({1});
}

std::string Weights(const std::string& model) {
  std::string path =
      featx::FindRunfile("featx/codegen/effects_e2e/" + model + "_features.weights", nullptr);
  EXPECT_FALSE(path.empty()) << model;
  return path;
}

// Runs `run` on a copy of each recorded input and compares with forward's.
void Check(const std::string& model, const std::function<at::Tensor(const at::Tensor&)>& run) {
  for (const char* input : {"ones", "randn"}) {
    at::Tensor x = Expected(model, std::string("input_") + input).clone();
    at::Tensor got = run(x);
    at::Tensor want = Expected(model, std::string("output_") + input);
    EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5))
        << model << " on " << input << ": got " << got << "\nwant " << want;
  }
}

TEST(EffectsE2eTest, AddIntoStatement) {
  auto e = effects::AddIntoFeatures::Load(Weights("add_into_statement"));
  Check("add_into_statement", [&](const at::Tensor& x) { return e(x).add_1; });
}

TEST(EffectsE2eTest, WriteInLeafBody) {
  auto e = effects::LeafBodyFeatures::Load(Weights("write_in_leaf_body"));
  Check("write_in_leaf_body", [&](const at::Tensor& x) { return e(x).relu; });
}

TEST(EffectsE2eTest, WriteInBranch) {
  auto e = effects::BranchFeatures::Load(Weights("write_in_branch"));
  Check("write_in_branch", [&](const at::Tensor& x) { return e(x).add; });
}

TEST(EffectsE2eTest, WriteThroughBranchResult) {
  auto e = effects::BranchResultFeatures::Load(Weights("write_through_branch_result"));
  Check("write_through_branch_result", [&](const at::Tensor& x) { return e(x).add_1; });
}

}  // namespace
