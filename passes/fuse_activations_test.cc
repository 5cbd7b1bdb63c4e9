#include "passes/fuse_activations.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "passes/fold_batchnorm.h"
#include "passes/inline_torch_nn.h"
#include "passes/test_graphs.h"

namespace featx {
namespace {

using ::featx::passes_test::kModules;
using ::featx::passes_test::Parse;
using ::testing::ElementsAre;

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
      kModules,
      {{"output(%14)\n",
        R"g(%16 = call_module pool(%14) : Tensor class=__torch__.torch.nn.modules.pooling.MaxPool2d {
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
