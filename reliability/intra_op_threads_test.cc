// Issue 10, point 7: results do not depend on the intra-op thread count.
// resnet18 at 64x64, both back ends (TorchScript extractor; generated C++,
// plain and BatchNorm-folding), at at::set_num_threads(1) and (2): outputs
// equal within 1e-6.
//
// at::set_num_threads sets LibTorch's intra-op pool (and oneDNN's, which uses
// it). Debian's LibTorch calls OpenBLAS for some matrix products, and OpenBLAS
// keeps its own thread count (OPENBLAS_NUM_THREADS; see
// /work/shared/ENVIRONMENT.md); this test varies LibTorch's count only.

#include <iostream>
#include <string>
#include <vector>

#include "ATen/ATen.h"
#include "ATen/Parallel.h"
#include "absl/status/statusor.h"
#include "codegen/runfiles.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "reliability/resnet18_bn_optimized.h"
#include "reliability/resnet18_plain.h"
#include "reliability/testing.h"

namespace featx::reliability {
namespace {

constexpr double kTolerance = 1e-6;

std::string Weights(const std::string& stem) {
  std::string path = FindRunfile("featx/reliability/" + stem + ".weights", nullptr);
  EXPECT_FALSE(path.empty()) << stem;
  return path;
}

template <typename Extractor>
Features RunGenerated(const Extractor& e, const at::Tensor& x) {
  Features out;
  for (const auto& item : e(x).ToDict()) out[item.key()] = item.value();
  return out;
}

// Runs `run` at 1 and at 2 intra-op threads and compares.
template <typename Run>
void ExpectSameAt1And2Threads(const std::string& what, Run run) {
  const int original = at::get_num_threads();
  at::Tensor x = Input({2, 3, 64, 64}, 11);
  at::set_num_threads(1);
  ASSERT_EQ(at::get_num_threads(), 1);
  Features one = run(x);
  at::set_num_threads(2);
  ASSERT_EQ(at::get_num_threads(), 2);
  Features two = run(x);
  at::set_num_threads(original);
  double scale = 0;
  double diff = MaxAbsDiff(two, one, &scale);
  EXPECT_LE(diff, kTolerance) << what << ": max |diff| " << diff << " at scale " << scale;
  std::string why;
  std::cout << what << ": max |diff| between 1 and 2 threads " << diff << " (scale " << scale
            << ", bit-identical: " << (BitIdentical(one, two, &why) ? "yes" : "no") << ")\n";
}

TEST(IntraOpThreadsTest, TorchScriptExtractor) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(model, {.return_nodes = {"layer1", "layer2.0.add", "layer4"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  extractor->eval();
  ExpectSameAt1And2Threads("TorchScript extractor, eval",
                           [&](const at::Tensor& x) { return RunTorchScript(*extractor, x); });
}

TEST(IntraOpThreadsTest, OptimizedTorchScriptExtractor) {
  torch::jit::Module model = LoadFixture("resnet18_bn.pt");
  absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(
      model,
      {.return_nodes = {"layer1", "layer2.0.add", "layer4"}, .optimize_for_inference = true});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  ExpectSameAt1And2Threads("TorchScript extractor, optimize_for_inference",
                           [&](const at::Tensor& x) { return RunTorchScript(*extractor, x); });
}

TEST(IntraOpThreadsTest, PlainGeneratedExtractor) {
  const ::reliability::ResNet18Plain e =
      ::reliability::ResNet18Plain::Load(Weights("resnet18_plain"));
  ExpectSameAt1And2Threads("generated C++, plain",
                           [&](const at::Tensor& x) { return RunGenerated(e, x); });
}

TEST(IntraOpThreadsTest, OptimizedGeneratedExtractor) {
  const ::reliability::ResNet18BnOptimized e =
      ::reliability::ResNet18BnOptimized::Load(Weights("resnet18_bn_optimized"));
  ExpectSameAt1And2Threads("generated C++, optimized",
                           [&](const at::Tensor& x) { return RunGenerated(e, x); });
}

}  // namespace
}  // namespace featx::reliability
