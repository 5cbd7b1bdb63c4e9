// Issue 10, point 6: concurrency.
//  - One TorchScript extractor and one generated C++ extractor (plain and
//    optimized) are each called from 8 threads at once, on one shared input
//    and on a different input per thread; every output equals, bit for bit,
//    the single-threaded output for that input.
//  - GetGraphNodeNames, CreateFeatureExtractor and GenerateCppExtractor run
//    from several threads at once, on different models and on one shared
//    model, give what sequential runs give.
// Small inputs and few iterations: the test stays meaningful under
// --config=asan on two cores.

#include <atomic>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "ATen/ATen.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "codegen/runfiles.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "reliability/resnet18_bn_optimized.h"
#include "reliability/resnet18_plain.h"
#include "reliability/testing.h"
#include "torch/csrc/jit/api/module.h"

namespace featx::reliability {
namespace {

constexpr int kThreads = 8;

// Runs fn(0..n-1) on n threads released together; returns each thread's
// error text (empty: fine).
std::vector<std::string> RunTogether(int n, const std::function<std::string(int)>& fn) {
  std::vector<std::string> errors(n);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < n) std::this_thread::yield();
      try {
        errors[i] = fn(i);
      } catch (const std::exception& e) {
        errors[i] = absl::StrCat("exception: ", e.what());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return errors;
}

void ExpectNoErrors(const std::vector<std::string>& errors) {
  for (size_t i = 0; i < errors.size(); ++i) EXPECT_EQ(errors[i], "") << "thread " << i;
}

// Calls `run` on inputs[0] (shared by every thread) and on inputs[i] from 8
// threads, twice each, against the sequential outputs.
void CheckFrom8Threads(const std::function<Features(const at::Tensor&)>& run) {
  std::vector<at::Tensor> inputs;
  std::vector<Features> expected;
  for (int i = 0; i < kThreads; ++i) {
    inputs.push_back(Input({1, 3, 32, 32}, 100 + i));
    expected.push_back(run(inputs[i]));
    std::string why;
    ASSERT_TRUE(BitIdentical(run(inputs[i]), expected[i], &why)) << "sequential rerun: " << why;
  }
  ExpectNoErrors(RunTogether(kThreads, [&](int i) -> std::string {
    for (int round = 0; round < 2; ++round) {
      std::string why;
      if (!BitIdentical(run(inputs[0]), expected[0], &why)) {
        return absl::StrCat("shared input, round ", round, ": ", why);
      }
      if (!BitIdentical(run(inputs[i]), expected[i], &why)) {
        return absl::StrCat("own input, round ", round, ": ", why);
      }
    }
    return "";
  }));
}

template <typename Extractor>
Features RunGenerated(const Extractor& e, const at::Tensor& x) {
  Features out;
  for (const auto& item : e(x).ToDict()) out[item.key()] = item.value();
  return out;
}

std::string Weights(const std::string& stem) {
  std::string path = FindRunfile("featx/reliability/" + stem + ".weights", nullptr);
  EXPECT_FALSE(path.empty()) << stem;
  return path;
}

TEST(ConcurrencyTest, TorchScriptExtractorFrom8Threads) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  model.eval();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(model, {.return_nodes = {"layer1", "layer2.0.add", "layer4"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  torch::jit::Module shared = *extractor;
  CheckFrom8Threads([&](const at::Tensor& x) { return RunTorchScript(shared, x); });
}

TEST(ConcurrencyTest, PlainGeneratedExtractorFrom8Threads) {
  const ::reliability::ResNet18Plain e =
      ::reliability::ResNet18Plain::Load(Weights("resnet18_plain"));
  CheckFrom8Threads([&](const at::Tensor& x) { return RunGenerated(e, x); });
}

// Prepacked convolutions are made lazily, per input shape, under a lock.
TEST(ConcurrencyTest, OptimizedGeneratedExtractorFrom8Threads) {
  const ::reliability::ResNet18BnOptimized e =
      ::reliability::ResNet18BnOptimized::Load(Weights("resnet18_bn_optimized"));
  CheckFrom8Threads([&](const at::Tensor& x) { return RunGenerated(e, x); });
}

// What the API gives for one model: its names, the extractor's graph and
// outputs, and the generated files.
struct ApiResult {
  std::vector<std::string> train, eval;
  std::string extractor_graph;
  Features outputs;
  std::string header, source, manifest;
  std::vector<char> weights;
};

struct ModelCase {
  std::string fixture;
  std::vector<std::string> nodes;
};

const std::vector<ModelCase>& Cases() {
  static const auto* cases = new std::vector<ModelCase>{
      {"resnet18.pt", {"layer1", "layer2.0.add", "layer4"}},
      {"mobilenet_v3_large.pt", {"features.6", "features.12"}},
      {"seed_cnn.pt", {"blocks.1", "blocks.3"}},
      {"resnet18_bn.pt", {"layer1.0.bn1", "layer3"}},
  };
  return *cases;
}

// LibTorch gives each class registered again in one compilation unit a
// numbered name (`__torch__.featx.___torch_mangle_7.FeatureExtractor`); an
// extractor made from a model that made one before differs by that number.
std::string WithoutMangling(const std::string& s) {
  static const std::regex mangle("___torch_mangle_[0-9]+\\.");
  return std::regex_replace(s, mangle, "");
}

std::string UseApi(torch::jit::Module& model, const ModelCase& c, ApiResult& r) {
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(model, {});
  if (!names.ok()) return names.status().ToString();
  r.train = names->train;
  r.eval = names->eval;
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(model, {.return_nodes = c.nodes});
  if (!extractor.ok()) return extractor.status().ToString();
  extractor->eval();
  r.extractor_graph = WithoutMangling(extractor->get_method("forward").graph()->toString());
  r.outputs = RunTorchScript(*extractor, Input({1, 3, 32, 32}, 7));
  absl::StatusOr<CppExtractorFiles> files =
      GenerateCppExtractor(model, {.return_nodes = c.nodes,
                                   .class_name = "TestExtractor",
                                   .namespace_name = "test",
                                   .model_file = c.fixture,
                                   .input_shape = {1, 3, 32, 32}});
  if (!files.ok()) return files.status().ToString();
  r.header = files->header;
  r.source = files->source;
  r.manifest = files->manifest;
  r.weights = files->weights;
  return "";
}

std::string Compare(const ApiResult& got, const ApiResult& want) {
  if (got.train != want.train || got.eval != want.eval) return "names differ";
  if (got.extractor_graph != want.extractor_graph) return "extractor graphs differ";
  std::string why;
  if (!BitIdentical(got.outputs, want.outputs, &why)) return "extractor outputs differ: " + why;
  if (got.header != want.header) return "generated headers differ";
  if (got.source != want.source) return "generated sources differ";
  if (got.manifest != want.manifest) return "generated manifests differ";
  if (got.weights != want.weights) return "generated weights differ";
  return "";
}

std::vector<ApiResult> Sequential() {
  std::vector<ApiResult> want(Cases().size());
  for (size_t i = 0; i < Cases().size(); ++i) {
    torch::jit::Module model = LoadFixture(Cases()[i].fixture);
    std::string error = UseApi(model, Cases()[i], want[i]);
    EXPECT_EQ(error, "") << Cases()[i].fixture;
  }
  return want;
}

TEST(ConcurrencyTest, ApiOnDifferentModelsAtOnce) {
  std::vector<ApiResult> want = Sequential();
  std::vector<torch::jit::Module> models;
  for (const ModelCase& c : Cases()) models.push_back(LoadFixture(c.fixture));
  ExpectNoErrors(RunTogether(static_cast<int>(Cases().size()), [&](int i) {
    ApiResult got;
    std::string error = UseApi(models[i], Cases()[i], got);
    return error.empty() ? Compare(got, want[i]) : error;
  }));
}

// One model object shared by 4 threads: featx registers the extractor's
// classes in the model's compilation unit, which must be serialized.
TEST(ConcurrencyTest, ApiOnOneModelAtOnce) {
  std::vector<ApiResult> want = Sequential();
  const ModelCase& c = Cases()[0];
  torch::jit::Module model = LoadFixture(c.fixture);
  ExpectNoErrors(RunTogether(4, [&](int) {
    ApiResult got;
    std::string error = UseApi(model, c, got);
    return error.empty() ? Compare(got, want[0]) : error;
  }));
}

}  // namespace
}  // namespace featx::reliability
