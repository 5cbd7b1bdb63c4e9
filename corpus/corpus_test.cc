// The conformance corpus (fixtures/corpus/corpus.bzl), checked per model:
//   Names    GetGraphNodeNames equals torchvision's get_graph_node_names in
//            train and eval mode (skipped where torchvision's FX cannot trace
//            the model);
//   Values   CreateFeatureExtractor's outputs equal the reference that clones
//            each returned value the moment it is computed (1e-5);
//   Codegen  for models whose C++ generation is a known failure: it still
//            fails. Generated code that builds is compared with the extractor
//            by //corpus:codegen_<model>_test.
// A check listed in corpus/known_failures.bzl must fail (with its reason in
// the log); one that passes is reported, so the list only shrinks.

#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "corpus/corpus_lib.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace featx {
namespace corpus {
namespace {

// Passes if `result` agrees with corpus/known_failures.bzl for (model, check).
void ExpectAsListed(const std::string& model, const std::string& check,
                    const ::testing::AssertionResult& result) {
  std::optional<std::string> known = KnownFailure(model, check);
  if (!known) {
    EXPECT_TRUE(result) << model << " " << check << ": " << result.message();
    return;
  }
  EXPECT_FALSE(result) << model << " " << check
                       << " passes now, but corpus/known_failures.bzl lists it as failing ("
                       << *known
                       << "). Delete the entry, then run ./bazelw run //corpus:table to "
                          "update the README.";
  if (!result) {
    std::cout << "known failure: " << model << " " << check << " (" << *known
              << "): " << result.message() << "\n";
  }
}

torch::jit::Module Load(const std::string& model) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/corpus/" + model + ".pt");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : torch::jit::Module();
}

TraceOptions OptionsFor(const CorpusModel& m) { return {.leaf_modules = m.leaf_modules}; }

// Where two name lists first differ, and what only one of them has.
::testing::AssertionResult SameNames(const std::string& mode, const std::vector<std::string>& featx,
                                     const std::vector<std::string>& torchvision) {
  if (featx == torchvision) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < featx.size() && i < torchvision.size() && featx[i] == torchvision[i]) ++i;
  std::set<std::string> f(featx.begin(), featx.end());
  std::set<std::string> t(torchvision.begin(), torchvision.end());
  std::vector<std::string> only_featx;
  std::vector<std::string> only_torchvision;
  std::set_difference(f.begin(), f.end(), t.begin(), t.end(), std::back_inserter(only_featx));
  std::set_difference(t.begin(), t.end(), f.begin(), f.end(), std::back_inserter(only_torchvision));
  auto first = [](const std::vector<std::string>& v) {
    std::vector<std::string> head(v.begin(), v.begin() + std::min<size_t>(v.size(), 6));
    return absl::StrCat(v.size(), " [", absl::StrJoin(head, ", "), v.size() > 6 ? ", ..." : "",
                        "]");
  };
  return ::testing::AssertionFailure()
         << mode << ": " << featx.size() << " names, torchvision " << torchvision.size()
         << "; first difference at " << i << ": '" << (i < featx.size() ? featx[i] : "<end>")
         << "' vs torchvision '" << (i < torchvision.size() ? torchvision[i] : "<end>")
         << "'; only featx: " << first(only_featx)
         << "; only torchvision: " << first(only_torchvision);
}

::testing::AssertionResult NamesMatch(const CorpusModel& m, const TorchvisionNames& expected) {
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(Load(m.name), OptionsFor(m));
  if (!names.ok()) {
    return ::testing::AssertionFailure() << "GetGraphNodeNames: " << names.status();
  }
  ::testing::AssertionResult train = SameNames("train", names->train, expected.train);
  ::testing::AssertionResult eval = SameNames("eval", names->eval, expected.eval);
  if (train && eval) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << (train ? "" : train.message()) << (train || eval ? "" : "; ")
         << (eval ? "" : eval.message());
}

::testing::AssertionResult ValuesMatch(const CorpusModel& m) {
  torch::jit::Module model = Load(m.name);
  Reference ref = ReadReference(m.name);
  std::vector<c10::IValue> inputs = Inputs(ref, m);
  for (size_t j = 0; j < m.sets.size(); ++j) {
    std::string set = absl::StrCat("set", j, " [", absl::StrJoin(m.sets[j], ","), "]");
    c10::Dict<std::string, at::Tensor> expected;
    for (const std::string& entry : m.sets[j]) {
      std::string key = KeyOf(entry);
      at::Tensor value = Lookup(ref, absl::StrCat("set", j, "/", key));
      if (!value.defined()) {
        return ::testing::AssertionFailure()
               << "stale reference: no '" << key << "'; rebuild //fixtures/corpus:" << m.name;
      }
      expected.insert(key, value);
    }
    absl::StatusOr<torch::jit::Module> extractor =
        CreateFeatureExtractor(model, {.return_nodes = m.sets[j], .trace_options = OptionsFor(m)});
    if (!extractor.ok()) {
      return ::testing::AssertionFailure()
             << set << ": CreateFeatureExtractor: " << extractor.status();
    }
    extractor->eval();
    c10::IValue out;
    try {
      out = extractor->forward(inputs);
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      return ::testing::AssertionFailure()
             << set << ": forward threw: " << what.substr(0, what.find('\n'));
    }
    if (!out.isGenericDict()) {
      return ::testing::AssertionFailure() << set << ": forward returned " << out.tagKind();
    }
    c10::Dict<std::string, at::Tensor> actual;
    for (const auto& kv : out.toGenericDict()) {
      if (!kv.value().isTensor()) {
        return ::testing::AssertionFailure()
               << set << ": '" << kv.key().toStringRef() << "' is " << kv.value().tagKind();
      }
      actual.insert(kv.key().toStringRef(), kv.value().toTensor());
    }
    ::testing::AssertionResult same = SameFeatures(actual, expected);
    if (!same) return ::testing::AssertionFailure() << set << ": " << same.message();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult CodeGenerates(const CorpusModel& m) {
  torch::jit::Module model = Load(m.name);
  for (size_t j = 0; j < m.sets.size(); ++j) {
    absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(
        model, {.return_nodes = m.sets[j],
                .trace_options = OptionsFor(m),
                .class_name = "Extractor",
                .namespace_name = absl::StrCat("corpus_gen::", m.name, "::set", j),
                .model_file = m.name + ".pt"});
    if (!files.ok()) {
      return ::testing::AssertionFailure() << "set" << j << ": " << files.status();
    }
  }
  return ::testing::AssertionSuccess();
}

// featx::CheckExtractor (featx check) on every node set, on the corpus inputs.
::testing::AssertionResult CheckPasses(const CorpusModel& m) {
  torch::jit::Module model = Load(m.name);
  std::vector<c10::IValue> inputs = Inputs(ReadReference(m.name), m);
  for (size_t j = 0; j < m.sets.size(); ++j) {
    std::string set = absl::StrCat("set", j, " [", absl::StrJoin(m.sets[j], ","), "]");
    absl::StatusOr<CheckReport> report =
        CheckExtractor(model, {.return_nodes = m.sets[j], .trace_options = OptionsFor(m)}, inputs);
    if (!report.ok()) {
      return ::testing::AssertionFailure() << set << ": CheckExtractor: " << report.status();
    }
    if (report->ok()) continue;
    std::vector<std::string> bad;
    std::vector<const ValueCheck*> all;
    for (const ValueCheck& c : report->forward_parts) all.push_back(&c);
    for (const ValueCheck& c : report->outputs) all.push_back(&c);
    for (const ValueCheck* c : all) {
      if (c->ok) continue;
      bad.push_back(absl::StrCat(c->key, " max_abs=", c->max_abs_diff, " max_rel=", c->max_rel_diff,
                                 c->problem.empty() ? "" : " ", c->problem));
    }
    return ::testing::AssertionFailure() << set << ": " << absl::StrJoin(bad, "; ");
  }
  return ::testing::AssertionSuccess();
}

class CorpusTest : public ::testing::TestWithParam<CorpusModel> {};

TEST_P(CorpusTest, Names) {
  const CorpusModel& m = GetParam();
  TorchvisionNames expected = ReadTorchvisionNames(m.name);
  if (!expected.fx_error.empty()) {
    EXPECT_FALSE(KnownFailure(m.name, "names").has_value())
        << "torchvision's FX cannot trace " << m.name << ": there is no names check to fail";
    GTEST_SKIP() << "FX fails: " << expected.fx_error;
  }
  ExpectAsListed(m.name, "names", NamesMatch(m, expected));
}

TEST_P(CorpusTest, Values) { ExpectAsListed(GetParam().name, "values", ValuesMatch(GetParam())); }

TEST_P(CorpusTest, Check) { ExpectAsListed(GetParam().name, "check", CheckPasses(GetParam())); }

TEST_P(CorpusTest, CodegenKnownFailureStillFails) {
  const CorpusModel& m = GetParam();
  if (!KnownFailure(m.name, "codegen")) {
    GTEST_SKIP() << "compiled and compared by //corpus:codegen_" << m.name << "_test";
  }
  if (absl::StartsWith(*KnownFailure(m.name, "codegen"), "compile:")) {
    GTEST_SKIP() << "listed as generated but not compilable: " << *KnownFailure(m.name, "codegen");
  }
  ::testing::AssertionResult generates = CodeGenerates(m);
  EXPECT_FALSE(generates) << m.name << ": GenerateCppExtractor succeeds now, but "
                          << "corpus/known_failures.bzl lists codegen as failing ("
                          << *KnownFailure(m.name, "codegen") << "). Delete the entry so "
                          << "//corpus:codegen_" << m.name << "_test compiles and compares it.";
  if (!generates) {
    std::cout << "known failure: " << m.name << " codegen (" << *KnownFailure(m.name, "codegen")
              << "): " << generates.message() << "\n";
  }
}

std::string ModelName(const ::testing::TestParamInfo<CorpusModel>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTest, ::testing::ValuesIn(ReadCorpus()), ModelName);

// The list itself: every entry names a corpus model and a check that exists.
TEST(KnownFailuresTest, EntriesNameCorpusModelsAndChecks) {
  std::set<std::string> models;
  for (const CorpusModel& m : ReadCorpus()) models.insert(m.name);
  EXPECT_GE(models.size(), 30);
  for (const auto& [model, check] : KnownFailureKeys()) {
    EXPECT_TRUE(models.count(model)) << "known_failures.bzl: unknown model " << model;
    EXPECT_TRUE(check == "names" || check == "values" || check == "codegen" || check == "check")
        << "known_failures.bzl: unknown check " << check << " for " << model;
  }
}

}  // namespace
}  // namespace corpus
}  // namespace featx
