// corpus_lib.h
//
// What the corpus tests share: the model table (corpus/corpus.txt, generated
// from fixtures/corpus/corpus.bzl), the known failures (corpus/
// known_failures.txt, generated from corpus/known_failures.bzl), the fixtures
// of //fixtures/corpus, and the tensor comparison.
//
// Example:
//   for (const CorpusModel& m : ReadCorpus()) {
//     Reference ref = ReadReference(m.name);
//     std::vector<c10::IValue> inputs = Inputs(ref, m);
//     ...
//     if (IsKnownFailure(m.name, "values")) ...
//   }

#ifndef FEATX_CORPUS_CORPUS_LIB_H_
#define FEATX_CORPUS_CORPUS_LIB_H_

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ATen/core/Dict.h"
#include "ATen/core/Tensor.h"
#include "ATen/core/ivalue.h"
#include "fixtures/tensor_dict.h"
#include "gtest/gtest.h"

namespace featx {
namespace corpus {

struct CorpusModel {
  std::string name;
  int inputs = 1;
  std::vector<std::string> leaf_modules;
  std::vector<std::vector<std::string>> sets;  // each: "query" or "query:key"
};

// For gtest's messages.
void PrintTo(const CorpusModel& model, std::ostream* os);

// Every model of the corpus, in the table's order.
std::vector<CorpusModel> ReadCorpus();

// The key of a return-node entry: "layer2:l2" -> "l2", "layer2" -> "layer2".
std::string KeyOf(const std::string& entry);

// The reason listed for (model, check), or nullopt. check is "names",
// "values" or "codegen".
std::optional<std::string> KnownFailure(const std::string& model, const std::string& check);

// All listed failures, for the test that validates the list itself.
std::vector<std::pair<std::string, std::string>> KnownFailureKeys();

// fixtures/corpus/<model>_ref.pt: torch.save of str -> Tensor, in the order
// saved (see make_corpus_fixture.py). Lookup(ref, name) finds an entry.
using Reference = TensorDict;
Reference ReadReference(const std::string& model);

// "input0", "input1", ... of the reference, as forward's arguments.
std::vector<c10::IValue> Inputs(const Reference& ref, const CorpusModel& model);

// torchvision's names from fixtures/corpus/<model>_names.txt, or the reason
// FX could not trace the model.
struct TorchvisionNames {
  std::vector<std::string> train;
  std::vector<std::string> eval;
  std::string fx_error;  // empty where FX traced the model
};
TorchvisionNames ReadTorchvisionNames(const std::string& model);

// allclose(rtol=1e-5, atol=1e-5), and the same relative to the expected
// tensor's largest magnitude (deep random-weight features can be 1e-9, where
// an absolute 1e-5 would accept anything).
::testing::AssertionResult AllClose(const at::Tensor& actual, const at::Tensor& expected);

// The same keys in the same order, each AllClose.
::testing::AssertionResult SameFeatures(const c10::Dict<std::string, at::Tensor>& actual,
                                        const c10::Dict<std::string, at::Tensor>& expected);

// The optimized C++ back end's bar (issue 9): every element within
// `fraction` (1e-4) of the feature's magnitude, max |expected|. Folded
// BatchNorm and oneDNN's kernels reorder float sums, so 1e-5 element-wise is
// not the right bar there.
inline constexpr double kOptimizedFraction = 1e-4;
::testing::AssertionResult SameFeaturesToMagnitude(
    const c10::Dict<std::string, at::Tensor>& actual,
    const c10::Dict<std::string, at::Tensor>& expected, double fraction);

}  // namespace corpus
}  // namespace featx

#endif  // FEATX_CORPUS_CORPUS_LIB_H_
