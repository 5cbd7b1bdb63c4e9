#include "naming/naming.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> NamesOf(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return {};
  return NameNodes(**g);
}

// The seed's MyModule, whose names torchvision prints as
// x, param, add, submodule.lin, submodule.relu, clamp.
TEST(NameNodesTest, SeedMyModule) {
  EXPECT_THAT(NamesOf(R"(%0 = placeholder x : Tensor
%1 = get_attr param : Tensor
%2 = call_function aten::add.Tensor(%0, %1, 1) : Tensor
%3 = call_module submodule.lin(%2) : Tensor scope=submodule
%4 = call_function aten::relu(%3) : Tensor scope=submodule
%5 = call_function aten::clamp(%4, 0.0, 1.0) : Tensor
output(%5)
)"),
              ElementsAre("x", "param", "add", "submodule.lin", "submodule.relu", "clamp"));
}

TEST(NameNodesTest, RepeatedModuleCallGetsCounter) {
  EXPECT_THAT(
      NamesOf(R"(%0 = placeholder x : Tensor
%1 = call_module layer1.0.relu(%0) : Tensor scope=layer1.0
%2 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor scope=layer1.0 fx_op=add
%3 = call_module layer1.0.relu(%2) : Tensor scope=layer1.0
%4 = call_function aten::add.Tensor(%3, %0, 1) : Tensor scope=layer1.0
output(%4)
)"),
      ElementsAre("x", "layer1.0.relu", "layer1.0.add", "layer1.0.relu_1", "layer1.0.add_1"));
}

TEST(NameNodesTest, CountersArePerScope) {
  EXPECT_THAT(NamesOf(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor scope=a
%2 = call_function aten::relu(%1) : Tensor scope=b
%3 = call_function aten::relu(%2) : Tensor scope=a
%4 = call_function aten::relu(%3) : Tensor
output(%4)
)"),
              ElementsAre("x", "a.relu", "b.relu", "a.relu_1", "relu"));
}

TEST(NameNodesTest, GetAttrUsesPathWithUnderscores) {
  EXPECT_THAT(NamesOf(R"(%0 = placeholder x : Tensor
%1 = get_attr features.1.0.layer_scale : Tensor scope=features.1.0
%2 = call_function aten::mul.Tensor(%0, %1) : Tensor scope=features.1.0
output(%2)
)"),
              ElementsAre("x", "features.1.0.features_1_0_layer_scale", "features.1.0.mul"));
}

TEST(NameNodesTest, OperatorSpellingsFollowFx) {
  EXPECT_THAT(NamesOf(R"txt(%0 = placeholder x : Tensor
%1 = call_function aten::size(%0) : int[]
%2 = call_function aten::__getitem__.t(%1, 0) : int
%3 = call_function aten::__not__(true) : bool
%4 = call_function aten::__and__.bool(%3, %3) : bool
%5 = call_function __torch__.torch.nn.functional.relu(%0, false) : Tensor scope=m
%6 = call_function __torch__.torchvision.models.swin_transformer.shifted_window_attention(%5) : Tensor scope=m.attn
%7 = call_function aten::relu_(%6) : Tensor
%8 = call_module attn(%7) : "(Tensor, Tensor?)"
%9 = call_function prim::TupleIndex(%8, 0) : Tensor
output(%9)
)txt"),
              ElementsAre("x", "size", "getitem", "not_", "and_", "m.relu",
                          "m.attn.shifted_window_attention", "relu_", "attn", "getitem_1"));
}

// FX names the method call `x.relu_()` "relu_"; torchvision counts the repeat
// as "relu__1".
TEST(NameNodesTest, InPlaceMethodKeepsItsUnderscore) {
  EXPECT_THAT(NamesOf(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu_(%0) : Tensor
%2 = call_function aten::relu_(%1) : Tensor
%3 = call_function aten::relu(%2) : Tensor
output(%3)
)"),
              ElementsAre("x", "relu_", "relu__1", "relu"));
}

// The tracer records what FX calls a node where the source says so: `x.shape`
// is getattr, `y += x` is add, `a / b` is truediv.
TEST(NameNodesTest, FxOpFromTheTracerWins) {
  EXPECT_THAT(NamesOf(R"(%0 = placeholder x : Tensor
%1 = call_function aten::size(%0) : int[] fx_op=getattr
%2 = call_function aten::slice.t(%1, -2, None, 1) : int[] fx_op=getitem
%3 = call_function aten::add_.Tensor(%0, %0, 1) : Tensor scope=a fx_op=add
%4 = call_function aten::div.Tensor(%3, %0) : Tensor scope=a fx_op=truediv
%5 = call_function aten::size(%4) : int[]
output(%5)
)"),
              ElementsAre("x", "getattr", "getitem", "a.add", "a.truediv", "size"));
}

// F.max_pool2d is _max_pool2d or max_pool2d_with_indices in TorchScript; FX
// names the first by the public name.
TEST(NameNodesTest, BooleanDispatchedFunctionsGetThePublicName) {
  EXPECT_THAT(NamesOf(R"txt(%0 = placeholder x : Tensor
%1 = call_function __torch__.torch.nn.functional._max_pool2d(%0, 2) : Tensor
%2 = call_function __torch__.torch.nn.functional.max_pool2d_with_indices(%0, 2) : "(Tensor, Tensor)"
%3 = call_function __torch__.torch.nn.functional.___torch_mangle_3._adaptive_max_pool1d(%0, 2) : Tensor
%4 = call_function __torch__.torch.nn.functional._fractional_max_pool3d(%0, 2) : Tensor
%5 = call_function __torch__.mymodel._max_pool2d(%0) : Tensor
output(%5)
)txt"),
              ElementsAre("x", "max_pool2d", "max_pool2d_with_indices", "adaptive_max_pool1d",
                          "fractional_max_pool3d", "_max_pool2d"));
}

TEST(NameNodesTest, DictLiteralsAndBuffersAreNotListed) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(%0 = placeholder x : Tensor
%1 = get_attr bn.running_mean : Tensor class=buffer
%2 = get_attr bn.weight : Tensor class=parameter
%3 = call_function aten::add.Tensor(%0, %1, 1) : Tensor
%4 = call_function prim::DictConstruct("out", %3) : "Dict[str, Tensor]"
output(%4)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  NameNodes(**g);
  std::vector<bool> listed;
  for (const auto& n : (*g)->nodes()) listed.push_back(IsListedByTorchvision(*n));
  EXPECT_THAT(listed, ElementsAre(true, false, true, true, false, false));
}

// torchvision would list module "conv_1" as "conv"; featx keeps the path and
// still gives every node a distinct name.
TEST(NameNodesTest, ModulePathsAreNotRewrittenAndNamesStayUnique) {
  EXPECT_THAT(
      NamesOf(R"(%0 = placeholder x : Tensor
%1 = call_module conv(%0) : Tensor
%2 = call_module conv(%1) : Tensor
%3 = call_module conv_1(%2) : Tensor
%4 = call_module encoder.layers.encoder_layer_0.ln_1(%3) : Tensor scope=encoder.layers.encoder_layer_0
output(%4)
)"),
      ElementsAre("x", "conv", "conv_1", "conv_1_1", "encoder.layers.encoder_layer_0.ln_1"));
}

TEST(NameNodesTest, BlockNodesDoNotShiftTopLevelCounters) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::eq.int(%1, 3) : bool
%3 = if(%2) : NoneType {
  output()
} {
  %4 = call_function aten::dim(%0) : int
  output()
}
%5 = call_function aten::dim(%0) : int
output(%5)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(NameNodes(**g), ElementsAre("x", "dim", "eq", "if", "dim_1"));
  EXPECT_EQ((*g)->nodes()[3]->blocks()[1]->nodes()[0]->name(), "dim_2");
}

}  // namespace
}  // namespace featx
