// test_graphs.h
//
// Text graphs shared by the //passes tests.

#ifndef FEATX_PASSES_TEST_GRAPHS_H_
#define FEATX_PASSES_TEST_GRAPHS_H_

#include <memory>
#include <utility>

#include "absl/strings/string_view.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace passes_test {

// Parses `text`, failing the test (and returning an empty graph) if it does
// not parse.
inline std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// resnet's stem as the tracer gives it: Conv2d, BatchNorm2d and ReLU leaves
// with their bodies.
inline constexpr char kModules[] = R"g(%0 = placeholder x : Tensor name=x
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

}  // namespace passes_test
}  // namespace featx

#endif  // FEATX_PASSES_TEST_GRAPHS_H_
