#include "codegen/schema.h"

#include <memory>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

TEST(ParseSchemaTest, ReadsNameOverloadParamsAndReturns) {
  absl::StatusOr<Schema> s =
      ParseSchema("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "aten::add");
  EXPECT_EQ(s->overload, "Tensor");
  ASSERT_EQ(s->params.size(), 3u);
  EXPECT_EQ(s->params[0].type, "Tensor");
  EXPECT_EQ(s->params[0].name, "self");
  EXPECT_FALSE(s->params[1].kwarg_only);
  EXPECT_EQ(s->params[2].type, "Scalar");
  EXPECT_EQ(s->params[2].name, "alpha");
  EXPECT_TRUE(s->params[2].kwarg_only);
  EXPECT_FALSE(s->vararg);
  EXPECT_EQ(s->returns, 1);
}

TEST(ParseSchemaTest, StripsAliasAnnotations) {
  absl::StatusOr<Schema> s =
      ParseSchema("aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->params[0].type, "Tensor");
  absl::StatusOr<Schema> d =
      ParseSchema("aten::_set_item.str(Dict(str, t)(a!) l, str(b -> *) idx, t(c -> *) v) -> ()");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->params[0].type, "Dict(str, t)");
  EXPECT_EQ(d->params[1].type, "str");
  EXPECT_EQ(d->returns, 0);
}

TEST(ParseSchemaTest, CountsReturnsAndVarargs) {
  absl::StatusOr<Schema> max = ParseSchema(
      "aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->returns, 2);
  absl::StatusOr<Schema> items = ParseSchema("aten::items.str(Dict(str, t) self) -> ((str, t)[])");
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->returns, 1);
  absl::StatusOr<Schema> format = ParseSchema("aten::format(str self, ...) -> str");
  ASSERT_TRUE(format.ok());
  EXPECT_TRUE(format->vararg);
  EXPECT_EQ(format->params.size(), 1u);
}

TEST(ParseSchemaTest, NotASchemaIsInvalidArgument) {
  EXPECT_EQ(ParseSchema("aten::relu").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AtenOpsTest, StructAndHeader) {
  Schema add{.name = "aten::add_", .overload = "Tensor"};
  EXPECT_EQ(AtenOpsStruct(add), "add__Tensor");
  EXPECT_EQ(AtenOpsHeader(add), "add");
  Schema band{.name = "aten::__and__", .overload = "Tensor"};
  EXPECT_EQ(AtenOpsHeader(band), "and");
  Schema relu{.name = "aten::relu"};
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
  absl::StatusOr<Schema> s = ParseSchema(
      "aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? "
      "scale_factors) -> Tensor");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(HasTypedForm(*(*g)->nodes()[2], *s));
  EXPECT_TRUE(HasTypedForm(*(*g)->nodes()[3], *s));
}

TEST(SplitTopLevelTest, KeepsNestedCommas) {
  EXPECT_THAT(SplitTopLevel("Tensor, int[2] x, (int, int), Dict(str, t) d"),
              ::testing::ElementsAre("Tensor", "int[2] x", "(int, int)", "Dict(str, t) d"));
}

}  // namespace
}  // namespace featx
