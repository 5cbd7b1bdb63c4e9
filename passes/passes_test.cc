#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activations.h"

namespace featx {
namespace {

using ::testing::ElementsAre;

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// resnet's stem as the tracer gives it: Conv2d, BatchNorm2d and ReLU leaves
// with their bodies.
constexpr char kModules[] = R"g(%0 = placeholder x : Tensor name=x
%1 = call_module conv1(%0) : Tensor class=__torch__.torch.nn.modules.conv.Conv2d name=conv1 {
  %2 = get_attr conv1.weight : Tensor scope=conv1 class=parameter
  %3 = call_function aten::conv2d(%0, %2, None, [2, 2], [3, 3], [1, 1], 1) : Tensor scope=conv1 name=conv1.conv2d
  output(%3)
}
%4 = call_module bn1(%1) : Tensor class=__torch__.torch.nn.modules.batchnorm.BatchNorm2d name=bn1 {
  %5 = call_function aten::dim(%1) : int scope=bn1 name=bn1.dim
  %6 = call_function aten::ne.int(%5, 4) : bool scope=bn1 name=bn1.ne
  %7 = if(%6) : NoneType scope=bn1 name=bn1.if {
    %8 = call_function prim::RaiseException("expected 4D input", "builtins.ValueError") : NoneType scope=bn1
    output()
  } {
    output()
  }
  %9 = get_attr bn1.running_mean : Tensor scope=bn1 class=buffer
  %10 = get_attr bn1.running_var : Tensor scope=bn1 class=buffer
  %11 = get_attr bn1.weight : Tensor scope=bn1 class=parameter
  %12 = get_attr bn1.bias : Tensor scope=bn1 class=parameter
  %13 = call_function aten::batch_norm(%1, %11, %12, %9, %10, false, 0.1, 1e-05, true) : Tensor scope=bn1 name=bn1.batch_norm
  output(%13)
}
%14 = call_module relu(%4) : Tensor class=__torch__.torch.nn.modules.activation.ReLU name=relu mutates=0 alias_of=0 {
  %15 = call_function aten::relu_(%4) : Tensor scope=relu name=relu.relu mutates=0 alias_of=0
  output(%15)
}
output(%14)
)g";

TEST(InlineTorchNnModulesTest, MovesConvBatchNormAndReluBodiesIntoTheCaller) {
  std::unique_ptr<Graph> g = Parse(kModules);
  absl::StatusOr<bool> changed = InlineTorchNnModules(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(Verify(*g).ok());
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor name=x
%1 = get_attr conv1.weight : Tensor scope=conv1 class=parameter
%2 = call_function aten::conv2d(%0, %1, None, [2, 2], [3, 3], [1, 1], 1) : Tensor scope=conv1 name=conv1.conv2d
%3 = call_function aten::dim(%2) : int scope=bn1 name=bn1.dim
%4 = call_function aten::ne.int(%3, 4) : bool scope=bn1 name=bn1.ne
%5 = if(%4) : NoneType scope=bn1 name=bn1.if {
  %6 = call_function prim::RaiseException("expected 4D input", "builtins.ValueError") : NoneType scope=bn1
  output()
} {
  output()
}
%7 = get_attr bn1.running_mean : Tensor scope=bn1 class=buffer
%8 = get_attr bn1.running_var : Tensor scope=bn1 class=buffer
%9 = get_attr bn1.weight : Tensor scope=bn1 class=parameter
%10 = get_attr bn1.bias : Tensor scope=bn1 class=parameter
%11 = call_function aten::batch_norm(%2, %9, %10, %7, %8, false, 0.1, 1e-05, true) : Tensor scope=bn1 name=bn1.batch_norm
%12 = call_function aten::relu_(%11) : Tensor scope=relu name=relu.relu mutates=0 alias_of=0
output(%12)
)g");
}

TEST(InlineTorchNnModulesTest, LeavesOtherModulesAlone) {
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = call_module pool(%0) : Tensor class=__torch__.torch.nn.modules.pooling.MaxPool2d {
  %2 = call_function aten::max_pool2d(%0, [2, 2], [2, 2], [0, 0], [1, 1], false) : Tensor scope=pool
  output(%2)
}
%3 = call_module mine(%1) : Tensor class=__torch__.my.Conv2d {
  %4 = call_function aten::relu(%1) : Tensor scope=mine
  output(%4)
}
output(%3)
)g");
  std::string before = PrintGraph(*g);
  absl::StatusOr<bool> changed = InlineTorchNnModules(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(PrintGraph(*g), before);
}

TEST(FoldBatchNormTest, FoldsIntoTheConvolutionAndKeepsTheInputCheck) {
  std::unique_ptr<Graph> g = Parse(kModules);
  ASSERT_TRUE(InlineTorchNnModules(*g).ok());
  FoldBatchNormPass pass;
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(Verify(*g).ok());
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor name=x
%1 = get_attr "conv1.weight@bn1" : Tensor scope=conv1 class=parameter name=conv1.conv2d_folded_weight
%2 = get_attr "conv1.weight@bn1.bias" : Tensor scope=conv1 class=parameter name=conv1.conv2d_folded_bias
%3 = call_function aten::conv2d(%0, %1, %2, [2, 2], [3, 3], [1, 1], 1) : Tensor scope=conv1 name=conv1.conv2d
%4 = call_function aten::dim(%3) : int scope=bn1 name=bn1.dim
%5 = call_function aten::ne.int(%4, 4) : bool scope=bn1 name=bn1.ne
%6 = if(%5) : NoneType scope=bn1 name=bn1.if {
  %7 = call_function prim::RaiseException("expected 4D input", "builtins.ValueError") : NoneType scope=bn1
  output()
} {
  output()
}
%8 = call_function aten::relu_(%3) : Tensor scope=relu name=relu.relu mutates=0 alias_of=0
output(%8)
)g");
  ASSERT_EQ(pass.folds().size(), 1);
  const FoldedBatchNorm& f = pass.folds()[0];
  EXPECT_EQ(f.weight, "conv1.weight@bn1");
  EXPECT_EQ(f.bias, "conv1.weight@bn1.bias");
  EXPECT_EQ(f.conv_weight, "conv1.weight");
  EXPECT_EQ(f.conv_bias, "");
  EXPECT_EQ(f.bn_weight, "bn1.weight");
  EXPECT_EQ(f.bn_bias, "bn1.bias");
  EXPECT_EQ(f.running_mean, "bn1.running_mean");
  EXPECT_EQ(f.running_var, "bn1.running_var");
  EXPECT_DOUBLE_EQ(f.eps, 1e-5);
}

// Operators inside a leaf body (torchvision's Conv2dNormActivation).
constexpr char kOps[] = R"g(%0 = placeholder x : Tensor
%1 = get_attr c.weight : Tensor class=parameter
%2 = get_attr c.bias : Tensor class=parameter
%3 = call_function aten::conv2d(%0, %1, %2, [1, 1], [0, 0], [1, 1], 1) : Tensor
%4 = get_attr b.running_mean : Tensor class=buffer
%5 = get_attr b.running_var : Tensor class=buffer
%6 = call_function aten::batch_norm(%3, None, None, %4, %5, false, 0.1, 0.001, true) : Tensor
%7 = call_function aten::hardswish_(%6) : Tensor mutates=0 alias_of=0
output(%7)
)g";

TEST(FoldBatchNormTest, RecordsConvBiasAndNonAffineBatchNorm) {
  std::unique_ptr<Graph> g = Parse(kOps);
  FoldBatchNormPass pass;
  ASSERT_TRUE(pass.Run(*g).ok());
  EXPECT_TRUE(Verify(*g).ok());
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor
%1 = get_attr "c.weight@b" : Tensor class=parameter name=_folded_weight
%2 = get_attr "c.weight@b.bias" : Tensor class=parameter name=_folded_bias
%3 = call_function aten::conv2d(%0, %1, %2, [1, 1], [0, 0], [1, 1], 1) : Tensor
%4 = call_function aten::hardswish_(%3) : Tensor mutates=0 alias_of=0
output(%4)
)g");
  ASSERT_EQ(pass.folds().size(), 1);
  EXPECT_EQ(pass.folds()[0].conv_bias, "c.bias");
  EXPECT_EQ(pass.folds()[0].bn_weight, "");
  EXPECT_EQ(pass.folds()[0].bn_bias, "");
  EXPECT_DOUBLE_EQ(pass.folds()[0].eps, 1e-3);
}

TEST(FoldBatchNormTest, KeepsAReturnedConvolution) {
  std::unique_ptr<Graph> g = Parse(absl::StrReplaceAll(kOps, {{"output(%7)", "output(%7, %3)"}}));
  std::string before = PrintGraph(*g);
  FoldBatchNormPass pass;
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(PrintGraph(*g), before);
  EXPECT_TRUE(pass.folds().empty());
}

TEST(FoldBatchNormTest, KeepsAConvolutionReadElsewhere) {
  std::unique_ptr<Graph> g = Parse(absl::StrReplaceAll(
      kOps, {{"output(%7)", "%8 = call_function aten::mul.Tensor(%3, %7) : Tensor\noutput(%8)"}}));
  FoldBatchNormPass pass;
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(FoldBatchNormTest, KeepsTrainModeBatchNorm) {
  std::unique_ptr<Graph> g = Parse(absl::StrReplaceAll(kOps, {{"false, 0.1", "true, 0.1"}}));
  FoldBatchNormPass pass;
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(FuseActivationsTest, FusesReluIntoTheConvolution) {
  std::unique_ptr<Graph> g = Parse(kModules);
  ASSERT_TRUE(InlineTorchNnModules(*g).ok());
  FoldBatchNormPass fold;
  ASSERT_TRUE(fold.Run(*g).ok());
  absl::StatusOr<bool> changed = FuseActivations(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(Verify(*g).ok());
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor name=x
%1 = get_attr "conv1.weight@bn1" : Tensor scope=conv1 class=parameter name=conv1.conv2d_folded_weight
%2 = get_attr "conv1.weight@bn1.bias" : Tensor scope=conv1 class=parameter name=conv1.conv2d_folded_bias
%3 = call_function featx::conv2d_relu(%0, %1, %2, [2, 2], [3, 3], [1, 1], 1) : Tensor scope=conv1 name=conv1.conv2d
%4 = call_function aten::dim(%3) : int scope=bn1 name=bn1.dim
%5 = call_function aten::ne.int(%4, 4) : bool scope=bn1 name=bn1.ne
%6 = if(%5) : NoneType scope=bn1 name=bn1.if {
  %7 = call_function prim::RaiseException("expected 4D input", "builtins.ValueError") : NoneType scope=bn1
  output()
} {
  output()
}
output(%3)
)g");
  std::optional<Conv2dCall> conv = MatchConv2d(*g->nodes()[3]);
  ASSERT_TRUE(conv.has_value());
  EXPECT_TRUE(conv->relu);
  EXPECT_EQ(conv->weight, "conv1.weight@bn1");
  EXPECT_THAT(conv->stride, ElementsAre(2, 2));
  EXPECT_THAT(conv->padding, ElementsAre(3, 3));
}

TEST(FuseActivationsTest, UsersInsideLeafBodiesFollowTheFusedNode) {
  std::unique_ptr<Graph> g = Parse(absl::StrReplaceAll(
      kModules, {{"output(%14)\n", R"g(%16 = call_module pool(%14) : Tensor class=__torch__.torch.nn.modules.pooling.MaxPool2d {
  %17 = call_function aten::max_pool2d(%14, [2, 2], [2, 2], [0, 0], [1, 1], false) : Tensor scope=pool
  output(%17)
}
output(%16)
)g"}}));
  ASSERT_TRUE(InlineTorchNnModules(*g).ok());
  FoldBatchNormPass fold;
  ASSERT_TRUE(fold.Run(*g).ok());
  ASSERT_TRUE(FuseActivations(*g).ok());
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor name=x
%1 = get_attr "conv1.weight@bn1" : Tensor scope=conv1 class=parameter name=conv1.conv2d_folded_weight
%2 = get_attr "conv1.weight@bn1.bias" : Tensor scope=conv1 class=parameter name=conv1.conv2d_folded_bias
%3 = call_function featx::conv2d_relu(%0, %1, %2, [2, 2], [3, 3], [1, 1], 1) : Tensor scope=conv1 name=conv1.conv2d
%4 = call_function aten::dim(%3) : int scope=bn1 name=bn1.dim
%5 = call_function aten::ne.int(%4, 4) : bool scope=bn1 name=bn1.ne
%6 = if(%5) : NoneType scope=bn1 name=bn1.if {
  %7 = call_function prim::RaiseException("expected 4D input", "builtins.ValueError") : NoneType scope=bn1
  output()
} {
  output()
}
%8 = call_module pool(%3) : Tensor class=__torch__.torch.nn.modules.pooling.MaxPool2d {
  %9 = call_function aten::max_pool2d(%3, [2, 2], [2, 2], [0, 0], [1, 1], false) : Tensor scope=pool
  output(%9)
}
output(%8)
)g");
}

TEST(FuseActivationsTest, KeepsAReturnedPreActivation) {
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = get_attr c.weight : Tensor class=parameter
%2 = call_function aten::conv2d(%0, %1, None, [1, 1], [0, 0], [1, 1], 1) : Tensor
%3 = call_function aten::relu(%2) : Tensor
output(%3, %2)
)g");
  absl::StatusOr<bool> changed = FuseActivations(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(FuseActivationsTest, KeepsAConvolutionWithComputedWeights) {
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = placeholder w : Tensor
%2 = call_function aten::conv2d(%0, %1, None, [1, 1], [0, 0], [1, 1], 1) : Tensor
%3 = call_function aten::relu(%2) : Tensor
output(%3)
)g");
  absl::StatusOr<bool> changed = FuseActivations(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(FuseActivationsTest, InPlaceAddThenInPlaceReluIsAddRelu) {
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::add_.Tensor(%0, %1, 1) : Tensor name=add mutates=0 alias_of=0
%3 = call_function aten::relu_(%2) : Tensor name=relu mutates=0 alias_of=0
output(%3)
)g");
  absl::StatusOr<bool> changed = FuseActivations(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_TRUE(Verify(*g).ok());
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::_add_relu_.Tensor(%0, %1, 1) : Tensor name=add mutates=0 alias_of=0
output(%2)
)g");
}

TEST(FuseActivationsTest, OutOfPlaceAddThenReluIsOutOfPlaceAddRelu) {
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::add.Tensor(%0, %1, 1) : Tensor name=add
%3 = call_function aten::relu_(%2) : Tensor name=relu mutates=0 alias_of=0
output(%3)
)g");
  ASSERT_TRUE(FuseActivations(*g).ok());
  EXPECT_EQ(PrintGraph(*g), R"g(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::_add_relu.Tensor(%0, %1, 1) : Tensor name=add
output(%2)
)g");
}

TEST(FuseActivationsTest, KeepsInPlaceAddWhenTheSumIsReadBeforeTheRelu) {
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::add_.Tensor(%0, %1, 1) : Tensor mutates=0 alias_of=0
%3 = call_function aten::mul.Tensor(%0, %1) : Tensor
%4 = call_function aten::relu_(%2) : Tensor mutates=0 alias_of=0
output(%4, %3)
)g");
  absl::StatusOr<bool> changed = FuseActivations(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

TEST(FuseActivationsTest, KeepsInPlaceAddBeforeOutOfPlaceRelu) {
  // relu(x += y) leaves the sum in x; _add_relu_ would leave relu(sum) there.
  std::unique_ptr<Graph> g = Parse(R"g(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::add_.Tensor(%0, %1, 1) : Tensor mutates=0 alias_of=0
%3 = call_function aten::relu(%2) : Tensor
output(%3, %0)
)g");
  absl::StatusOr<bool> changed = FuseActivations(*g);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
}

}  // namespace
}  // namespace featx
