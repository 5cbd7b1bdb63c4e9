#include "passes/pipeline.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "passes/test_graphs.h"

namespace featx {
namespace {

using ::featx::passes_test::kModules;
using ::featx::passes_test::Parse;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ExtractorPipelineTest, ListsEachKindsPassesInOrder) {
  EXPECT_THAT(ExtractorPassNames(PipelineKind::kTorchScript),
              ElementsAre("set-outputs", "protect-outputs", "dead-code", "collect-parameters"));
  EXPECT_EQ(ExtractorPassNames(PipelineKind::kCppExact),
            ExtractorPassNames(PipelineKind::kTorchScript));
  EXPECT_THAT(ExtractorPassNames(PipelineKind::kCppOptimized),
              ElementsAre("set-outputs", "protect-outputs", "dead-code", "inline-torch-nn",
                          "fold-batchnorm", "fuse-activations", "collect-parameters"));
}

// resnet's stem, returning bn1 and relu: bn1 is cloned (relu_ writes it),
// and the modules stay calls.
TEST(ExtractorPipelineTest, TorchScriptPipelinePrunesAndProtects) {
  std::unique_ptr<Graph> g = Parse(kModules);
  Node* bn1 = g->nodes()[2].get();
  Node* relu = g->nodes()[3].get();
  ExtractorPipeline p = MakeExtractorPipeline(PipelineKind::kTorchScript, {bn1, relu});
  EXPECT_EQ(p.fold_batchnorm, nullptr);
  std::vector<std::string> after;
  p.passes->set_observer(
      [&](const GraphPass& pass, const Graph&, bool) { after.emplace_back(pass.name()); });
  absl::StatusOr<bool> changed = p.passes->Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(after, ExtractorPassNames(PipelineKind::kTorchScript));
  // (relu is listed too: Liveness counts the relu_ inside relu's own body as a
  // later write to relu's value.)
  EXPECT_THAT(p.protect_outputs->copied(), Contains("bn1"));
  EXPECT_THAT(p.collect_parameters->modules(), ElementsAre("bn1", "conv1", "relu"));
  EXPECT_THAT(
      p.collect_parameters->parameters(),
      ElementsAre("bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.weight", "conv1.weight"));
}

// The same stem returning relu, optimized: one fused convolution whose
// weights are the folded ones, and collect-parameters lists exactly those.
TEST(ExtractorPipelineTest, OptimizedPipelineFoldsFusesThenCollectsTheFoldedWeights) {
  std::unique_ptr<Graph> g = Parse(kModules);
  Node* relu = g->nodes()[3].get();
  ExtractorPipeline p = MakeExtractorPipeline(PipelineKind::kCppOptimized, {relu});
  absl::StatusOr<bool> changed = p.passes->Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(PrintGraph(*g),
              ::testing::HasSubstr("%3 = call_function featx::conv2d_relu(%0, %1, %2, [2, 2], "
                                   "[3, 3], [1, 1], 1)"));
  ASSERT_NE(p.fold_batchnorm, nullptr);
  ASSERT_EQ(p.fold_batchnorm->folds().size(), 1);
  EXPECT_EQ(p.fold_batchnorm->folds()[0].running_var, "bn1.running_var");
  EXPECT_THAT(p.collect_parameters->parameters(),
              ElementsAre("conv1.weight@bn1", "conv1.weight@bn1.bias"));
  EXPECT_THAT(p.collect_parameters->modules(), IsEmpty());
}

TEST(ExtractorPipelineTest, BadOutputIsTheSetOutputsError) {
  std::unique_ptr<Graph> g = Parse(kModules);
  ExtractorPipeline p = MakeExtractorPipeline(PipelineKind::kCppExact, {g->output()});
  absl::StatusOr<bool> changed = p.passes->Run(*g);
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace featx
