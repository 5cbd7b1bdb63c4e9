#include "passes/fold_batchnorm.h"

#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "passes/inline_torch_nn.h"
#include "passes/test_graphs.h"

namespace featx {
namespace {

using ::featx::passes_test::kModules;
using ::featx::passes_test::Parse;

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

}  // namespace
}  // namespace featx
