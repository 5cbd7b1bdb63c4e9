// featx::PipelinePassNames and featx::GraphAfterPass (featx graph
// --print_after) on resnet18: each pipeline's passes, and the graph between
// them.

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

torch::jit::Module Resnet18() {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/resnet18.pt");
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

// The last line of a graph text: its output node.
std::string OutputLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.empty() ? "" : lines.back();
}

TEST(PipelinePassNamesTest, EachBackEndsPassesInOrder) {
  EXPECT_THAT(PipelinePassNames({}),
              ElementsAre("set-outputs", "protect-outputs", "dead-code", "collect-parameters"));
  PipelineSpec cpp{.backend = PipelineSpec::Backend::kCpp};
  EXPECT_THAT(PipelinePassNames(cpp),
              ElementsAre("set-outputs", "protect-outputs", "dead-code", "inline-torch-nn",
                          "fold-batchnorm", "fuse-activations", "collect-parameters"));
  cpp.optimize = CppOptimization::kNone;
  EXPECT_EQ(PipelinePassNames(cpp), PipelinePassNames({}));
  // As GenerateCppExtractor: train-mode code is never optimized.
  EXPECT_EQ(PipelinePassNames({.mode = Mode::kTrain, .backend = PipelineSpec::Backend::kCpp}),
            PipelinePassNames({}));
}

// bn1 is returned and relu_ overwrites it before conv2 reads it.
TEST(GraphAfterPassTest, ShowsTheGraphBetweenPruningPasses) {
  torch::jit::Module model = Resnet18();
  PipelineSpec spec{.return_nodes = {"layer1.0.bn1", "layer1.0.conv2"}};

  absl::StatusOr<std::string> set = GraphAfterPass(model, spec, "set-outputs");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(*set, HasSubstr("call_module layer4.1.bn2("));  // nothing erased yet
  EXPECT_THAT(*set, Not(HasSubstr("aten::clone")));

  absl::StatusOr<std::string> protect = GraphAfterPass(model, spec, "protect-outputs");
  ASSERT_TRUE(protect.ok()) << protect.status();
  EXPECT_THAT(*protect, HasSubstr("call_module layer4.1.bn2("));
  EXPECT_THAT(*protect, HasSubstr("name=layer1.0.bn1_clone"));

  absl::StatusOr<std::string> dead = GraphAfterPass(model, spec, "dead-code");
  ASSERT_TRUE(dead.ok()) << dead.status();
  EXPECT_THAT(*dead, Not(HasSubstr("layer4")));
  EXPECT_THAT(*dead, HasSubstr("name=layer1.0.bn1_clone"));
  EXPECT_THAT(*dead, HasSubstr("call_module layer1.0.conv2("));
  EXPECT_EQ(OutputLine(*dead), OutputLine(*protect));
}

TEST(GraphAfterPassTest, ShowsTheOptimizedCppRewrites) {
  torch::jit::Module model = Resnet18();
  PipelineSpec spec{.return_nodes = {"layer1.0.conv2"},
                    .backend = PipelineSpec::Backend::kCpp,
                    .optimize = CppOptimization::kInference};

  absl::StatusOr<std::string> inlined = GraphAfterPass(model, spec, "inline-torch-nn");
  ASSERT_TRUE(inlined.ok()) << inlined.status();
  EXPECT_THAT(*inlined, Not(HasSubstr("call_module conv1(")));
  EXPECT_THAT(*inlined, HasSubstr("aten::batch_norm("));

  absl::StatusOr<std::string> folded = GraphAfterPass(model, spec, "fold-batchnorm");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_THAT(*folded, Not(HasSubstr("aten::batch_norm(")));
  EXPECT_THAT(*folded, HasSubstr("get_attr \"conv1.weight@bn1\""));
  EXPECT_THAT(*folded, Not(HasSubstr("featx::conv2d_relu")));

  absl::StatusOr<std::string> fused = GraphAfterPass(model, spec, "fuse-activations");
  ASSERT_TRUE(fused.ok()) << fused.status();
  EXPECT_THAT(*fused, HasSubstr("featx::conv2d_relu("));

  // The exact C++ pipeline traces leaf bodies too, and keeps them.
  spec.optimize = CppOptimization::kNone;
  absl::StatusOr<std::string> exact = GraphAfterPass(model, spec, "dead-code");
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_THAT(*exact, HasSubstr("call_module conv1("));
  EXPECT_THAT(*exact, HasSubstr("aten::batch_norm("));
}

TEST(GraphAfterPassTest, UnknownPassIsNotFoundListingThePasses) {
  torch::jit::Module model = Resnet18();
  absl::StatusOr<std::string> text =
      GraphAfterPass(model, {.return_nodes = {"layer1"}}, "fold-batchnorm");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(text.status().message(),
            "no pass 'fold-batchnorm' in the torchscript pipeline; its passes: set-outputs, "
            "protect-outputs, dead-code, collect-parameters");
}

TEST(GraphAfterPassTest, NoReturnNodesIsInvalidArgument) {
  torch::jit::Module model = Resnet18();
  absl::StatusOr<std::string> text = GraphAfterPass(model, {}, "dead-code");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GraphAfterPassTest, UnknownReturnNodeIsTheExtractorsError) {
  torch::jit::Module model = Resnet18();
  absl::StatusOr<std::string> text =
      GraphAfterPass(model, {.return_nodes = {"layer9"}}, "dead-code");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("layer9"));
}

}  // namespace
}  // namespace featx
