#include "codegen/schema.h"

#include <memory>

#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

TEST(AtenOpsTest, StructAndHeader) {
  OperatorSchema add{.name = "aten::add_", .overload = "Tensor"};
  EXPECT_EQ(AtenOpsStruct(add), "add__Tensor");
  EXPECT_EQ(AtenOpsHeader(add), "add");
  OperatorSchema band{.name = "aten::__and__", .overload = "Tensor"};
  EXPECT_EQ(AtenOpsHeader(band), "and");
  OperatorSchema relu{.name = "aten::relu"};
  EXPECT_EQ(AtenOpsStruct(relu), "relu");
}

TEST(HasTypedFormTest, OptionalListHeldAsAValueHasNone) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"g(%0 = placeholder x : Tensor
%1 = placeholder s : "Optional[List[float]]"
%2 = call_function aten::upsample_nearest2d.vec(%0, None, %1) : Tensor
%3 = call_function aten::upsample_nearest2d.vec(%0, None, [2.0, 2.0]) : Tensor
output(%2, %3)
)g");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<OperatorSchema> s = ParseSchema(
      "aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? "
      "scale_factors) -> Tensor");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(HasTypedForm(*(*g)->nodes()[2], *s));
  EXPECT_TRUE(HasTypedForm(*(*g)->nodes()[3], *s));
}

TEST(IsVariadicCallTest, VarargsAndExtraArguments) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"g(%0 = placeholder x : str
%1 = call_function aten::format(%0, 1, 2) : str
%2 = call_function aten::lower(%0) : str
output(%1, %2)
)g");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<OperatorSchema> format = ParseSchema("aten::format(str self, ...) -> str");
  absl::StatusOr<OperatorSchema> lower = ParseSchema("aten::lower(str self) -> str");
  ASSERT_TRUE(format.ok() && lower.ok());
  EXPECT_TRUE(IsVariadicCall(*(*g)->nodes()[1], *format));
  EXPECT_FALSE(IsVariadicCall(*(*g)->nodes()[2], *lower));
  EXPECT_TRUE(IsVariadicCall(*(*g)->nodes()[1], *lower));  // more arguments than declared
}

}  // namespace
}  // namespace featx
