#include "pruning/collect_parameters.h"

#include <memory>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;

TEST(CollectParametersTest, ListsGetAttrAndModuleTargetsAtAnyDepthSortedAndUnique) {
  constexpr char kText[] = R"(%0 = placeholder x : Tensor
%1 = get_attr stem.weight : Tensor class=parameter
%2 = call_module layer1.conv(%0) : Tensor {
  %3 = get_attr layer1.conv.weight : Tensor class=parameter
  %4 = call_function aten::conv2d(%0, %3, None, [1, 1], [0, 0], [1, 1], 1) : Tensor
  output(%4)
}
%5 = call_function aten::mul.Tensor(%2, %1) : Tensor
%6 = get_attr stem.weight : Tensor class=parameter
%7 = call_module act(%5) : Tensor
%8 = call_function aten::add.Tensor(%7, %6, 1) : Tensor
output(%8)
)";
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(kText);
  ASSERT_TRUE(g.ok()) << g.status();
  CollectParametersPass pass;
  EXPECT_EQ(pass.name(), "collect-parameters");
  absl::StatusOr<bool> changed = pass.Run(**g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(PrintGraph(**g), kText);
  EXPECT_THAT(pass.parameters(), ElementsAre("layer1.conv.weight", "stem.weight"));
  EXPECT_THAT(pass.modules(), ElementsAre("act", "layer1.conv"));
}

}  // namespace
}  // namespace featx
