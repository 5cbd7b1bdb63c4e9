// codegen_check.h
//
// The codegen check of the corpus: C++ that cc_feature_extractor generated for
// a model's node sets, compiled, run on the reference input, and compared with
// CreateFeatureExtractor's TorchScript extractor for the same sets (1e-5).
//
// Each //corpus:codegen_<model>_test links codegen_check.cc with a source that
// corpus/defs.bzl generates: it includes the model's generated headers and
// defines GeneratedSets(), one entry per node set.

#ifndef FEATX_CORPUS_CODEGEN_CHECK_H_
#define FEATX_CORPUS_CODEGEN_CHECK_H_

#include <functional>
#include <string>
#include <vector>

#include "ATen/core/Dict.h"
#include "ATen/core/Tensor.h"

namespace featx {
namespace corpus {

struct GeneratedSet {
  std::string model;
  int set = 0;
  std::string stem;  // the generated files' stem, in package corpus
  // Loads the weights file and runs the generated extractor on the inputs.
  std::function<c10::Dict<std::string, at::Tensor>(const std::string& weights,
                                                   const std::vector<at::Tensor>& inputs)>
      run;
};

// Defined by the generated source of each codegen test.
std::vector<GeneratedSet> GeneratedSets();

}  // namespace corpus
}  // namespace featx

#endif  // FEATX_CORPUS_CODEGEN_CHECK_H_
