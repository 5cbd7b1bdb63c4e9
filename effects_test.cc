// Calls kept only for their in-place effect (issue 7, "never silently wrong"):
// on the models of //fixtures:effects_models, the TorchScript extractor gives
// what PyTorch's own forward gives, and every node's value equals torchvision's
// FX extractor with a clone inserted right after the node (made at build time
// by fixtures/effects_models.py, never by featx).

#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "ATen/ATen.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/csrc/jit/serialization/pickle.h"

namespace featx {
namespace {

constexpr double kTolerance = 1e-5;

struct EffectsModel {
  std::string name;
  std::vector<std::string> leaf_modules;
};

void PrintTo(const EffectsModel& m, std::ostream* os) { *os << m.name; }

std::vector<EffectsModel> Models() {
  return {{"add_into_statement", {}},         {"write_through_select", {}},
          {"write_through_view", {}},         {"write_in_function", {}},
          {"write_in_leaf_body", {"AddOne"}}, {"write_in_branch", {}},
          {"write_to_argument", {}},          {"write_through_branch_result", {}}};
}

// <name>_expected.pt: torch.save of a dict of str -> Tensor, in saved order.
std::vector<std::pair<std::string, at::Tensor>> Expected(const std::string& model) {
  std::string path = absl::StrCat("fixtures/effects/", model, "_expected.pt");
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<std::string, at::Tensor>> result;
  for (const auto& kv : torch::jit::pickle_load(bytes).toGenericDict()) {
    result.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
  }
  return result;
}

at::Tensor Lookup(const std::vector<std::pair<std::string, at::Tensor>>& expected,
                  const std::string& key) {
  for (const auto& [k, t] : expected) {
    if (k == key) return t;
  }
  ADD_FAILURE() << "no '" << key << "' in the expected values";
  return at::zeros({1});
}

// Runs `extractor` on a copy of `input` (the models write their argument).
c10::Dict<std::string, at::Tensor> RunOn(torch::jit::Module& extractor, const at::Tensor& input) {
  c10::Dict<std::string, at::Tensor> out;
  c10::IValue result = extractor.forward({input.clone()});
  for (const auto& kv : result.toGenericDict()) {
    out.insert(kv.key().toStringRef(), kv.value().toTensor());
  }
  return out;
}

class EffectsTest : public ::testing::TestWithParam<EffectsModel> {
 protected:
  void SetUp() override {
    absl::StatusOr<torch::jit::Module> m =
        LoadModel(absl::StrCat("fixtures/effects/", GetParam().name, ".pt"));
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = *m;
    options_.leaf_modules = GetParam().leaf_modules;
    expected_ = Expected(GetParam().name);
    absl::StatusOr<NodeNames> names = GetGraphNodeNames(model_, options_);
    ASSERT_TRUE(names.ok()) << names.status();
    names_ = names->eval;
  }

  torch::jit::Module model_;
  TraceOptions options_;
  std::vector<std::pair<std::string, at::Tensor>> expected_;
  std::vector<std::string> names_;
};

// The last node is the model's result: the extractor for it alone must give
// forward's value, so every write the result depends on survives pruning.
TEST_P(EffectsTest, LastNodeAloneEqualsForward) {
  std::string last = names_.back();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(model_, {.return_nodes = {last}, .trace_options = options_});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  extractor->eval();
  for (const char* input : {"ones", "randn"}) {
    at::Tensor got = RunOn(*extractor, Lookup(expected_, absl::StrCat("input_", input))).at(last);
    at::Tensor want = Lookup(expected_, absl::StrCat("output_", input));
    EXPECT_TRUE(at::allclose(got, want, kTolerance, kTolerance))
        << last << " on " << input << ": got " << got << "\nwant " << want;
  }
}

// Each node FX lists, extracted alone and all together, equals torchvision's
// value cloned the moment it is computed. Nodes are paired by position in
// execution order, since a few names still differ from FX's (the in-place
// `add_`, indexing's `getitem`), which is naming's business, not this test's.
TEST_P(EffectsTest, EveryNodeEqualsClonedTorchvisionValue) {
  std::vector<std::string> fx_names;
  for (const auto& [key, tensor] : expected_) {
    if (absl::StartsWith(key, "node:")) fx_names.push_back(key.substr(5));
  }
  if (absl::StartsWith(GetParam().name, "write_in_branch") ||
      GetParam().name == "write_through_branch_result") {
    EXPECT_TRUE(fx_names.empty()) << "FX was not expected to trace a data-dependent branch";
    return;
  }
  ASSERT_FALSE(fx_names.empty()) << "no FX reference for " << GetParam().name;
  std::vector<std::string> nodes(names_.begin() + 1, names_.end());  // without the input x
  ASSERT_EQ(nodes.size(), fx_names.size()) << "featx and FX list different numbers of nodes";
  at::Tensor input = Lookup(expected_, "input_randn");
  std::vector<std::vector<size_t>> sets(1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    sets[0].push_back(i);
    sets.push_back({i});
  }
  for (const std::vector<size_t>& set : sets) {
    std::vector<std::string> return_nodes;
    for (size_t i : set) return_nodes.push_back(nodes[i]);
    absl::StatusOr<torch::jit::Module> extractor =
        CreateFeatureExtractor(model_, {.return_nodes = return_nodes, .trace_options = options_});
    ASSERT_TRUE(extractor.ok()) << extractor.status();
    extractor->eval();
    c10::Dict<std::string, at::Tensor> out = RunOn(*extractor, input);
    for (size_t i : set) {
      at::Tensor want = Lookup(expected_, "node:" + fx_names[i]);
      EXPECT_TRUE(at::allclose(out.at(nodes[i]), want, kTolerance, kTolerance))
          << nodes[i] << " (FX: " << fx_names[i] << "; " << set.size() << " returned): got "
          << out.at(nodes[i]) << "\nwant " << want;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Effects, EffectsTest, ::testing::ValuesIn(Models()),
                         [](const ::testing::TestParamInfo<EffectsModel>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace featx
