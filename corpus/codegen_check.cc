// Generated C++ against the TorchScript extractor, per model and node set.
// See codegen_check.h.

#include "corpus/codegen_check.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/runfiles.h"
#include "corpus/corpus_lib.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace featx {
namespace corpus {
namespace {

const CorpusModel* Find(const std::vector<CorpusModel>& corpus, const std::string& name) {
  for (const CorpusModel& m : corpus) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// The generated output of `g` against the extractor's, both on the reference
// input, without autograd (the generated code runs in inference mode).
::testing::AssertionResult GeneratedMatchesExtractor(const GeneratedSet& g) {
  std::vector<CorpusModel> corpus = ReadCorpus();
  const CorpusModel* m = Find(corpus, g.model);
  if (m == nullptr || g.set >= static_cast<int>(m->sets.size())) {
    return ::testing::AssertionFailure() << "not in corpus.bzl: " << g.model << " set" << g.set;
  }
  Reference ref = ReadReference(m->name);
  std::vector<c10::IValue> inputs = Inputs(ref, *m);
  std::vector<at::Tensor> tensors;
  for (const c10::IValue& x : inputs) tensors.push_back(x.toTensor());

  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/corpus/" + m->name + ".pt");
  if (!model.ok()) return ::testing::AssertionFailure() << model.status();
  absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(
      *model, {.return_nodes = m->sets[g.set], .trace_options = {.leaf_modules = m->leaf_modules}});
  if (!extractor.ok()) {
    return ::testing::AssertionFailure() << "CreateFeatureExtractor: " << extractor.status();
  }
  extractor->eval();
  torch::NoGradGuard no_grad;
  c10::Dict<std::string, at::Tensor> expected;
  c10::Dict<std::string, at::Tensor> actual;
  try {
    for (const auto& kv : extractor->forward(inputs).toGenericDict()) {
      expected.insert(kv.key().toStringRef(), kv.value().toTensor());
    }
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return ::testing::AssertionFailure() << "extractor threw: " << what.substr(0, what.find('\n'));
  }
  std::string weights = FindRunfile(absl::StrCat("featx/corpus/", g.stem, ".weights"), nullptr);
  if (weights.empty()) return ::testing::AssertionFailure() << "no runfile " << g.stem;
  try {
    actual = g.run(weights, tensors);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return ::testing::AssertionFailure()
           << "generated code threw: " << what.substr(0, what.find('\n'));
  }
  // The rule's default, optimized code (folded BatchNorm, prepacked
  // convolutions): issue 9's bar, 1e-4 of each feature's magnitude.
  return SameFeaturesToMagnitude(actual, expected, kOptimizedFraction);
}

class CodegenTest : public ::testing::TestWithParam<GeneratedSet> {};

TEST_P(CodegenTest, GeneratedEqualsExtractor) {
  const GeneratedSet& g = GetParam();
  // Models whose codegen is a known failure get no generated code (see
  // corpus/BUILD); corpus_test checks that their generation still fails.
  EXPECT_TRUE(GeneratedMatchesExtractor(g)) << g.model << " set" << g.set;
}

std::string SetName(const ::testing::TestParamInfo<GeneratedSet>& info) {
  return absl::StrCat(info.param.model, "_set", info.param.set);
}

INSTANTIATE_TEST_SUITE_P(Corpus, CodegenTest, ::testing::ValuesIn(GeneratedSets()), SetName);

}  // namespace
}  // namespace corpus
}  // namespace featx
