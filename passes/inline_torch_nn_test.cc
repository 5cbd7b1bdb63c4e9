#include "passes/inline_torch_nn.h"

#include <memory>
#include <string>

#include "graph/text.h"
#include "gtest/gtest.h"
#include "passes/test_graphs.h"

namespace featx {
namespace {

using ::featx::passes_test::kModules;
using ::featx::passes_test::Parse;

TEST(InlineTorchNnModulesTest, MovesConvBatchNormAndReluBodiesIntoTheCaller) {
  std::unique_ptr<Graph> g = Parse(kModules);
  absl::StatusOr<bool> changed = InlineTorchNnModulesPass().Run(*g);
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

}  // namespace
}  // namespace featx
