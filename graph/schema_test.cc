#include "graph/schema.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

OperatorSchema Parsed(absl::string_view text) {
  absl::StatusOr<OperatorSchema> s = ParseSchema(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status();
  return s.ok() ? *s : OperatorSchema{};
}

// Schemas as LibTorch 1.13 prints them (`std::cout << op->schema()`).
constexpr absl::string_view kLibTorchSchemas[] = {
    "aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
    "aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
    "aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, "
    "int[2] padding=0, int[2] dilation=1, int groups=1) -> Tensor",
    "aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, "
    "Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor",
    "aten::layer_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, "
    "Tensor? bias=None, float eps=1.0000000000000001e-05, bool cudnn_enable=True) -> Tensor",
    "aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]",
    "aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)",
    "aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)",
    "aten::items.str(Dict(str, t) self) -> ((str, t)[])",
    "aten::format(str self, ...) -> str",
    "prim::TupleUnpack(Any tup) -> ...",
    "aten::append.t(t[](a!) self, t(c -> *) el) -> t[](a!)",
    "aten::_foreach_add_.Scalar(Tensor(a!)[] self, Scalar scalar) -> ()",
    "aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) "
    "-> Tensor",
    "aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False, bool copy=False, "
    "MemoryFormat? memory_format=None) -> Tensor(a)",
    "aten::pad(Tensor self, SymInt[] pad, str mode=\"constant\", float? value=None) -> Tensor",
    "aten::dropout(Tensor input, float p, bool train) -> Tensor",
    "aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor",
    "aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) "
    "-> Tensor",
    "aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor",
    "aten::hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor",
    "aten::rrelu(Tensor self, Scalar lower=0.125, Scalar upper=0.33333333333333331, "
    "bool training=False, Generator? generator=None) -> Tensor",
    "aten::list.t(t[] l) -> t[]",
    "aten::tensor_split.indices(Tensor(a -> *) self, SymInt[] indices, int dim=0) -> Tensor(a)[]",
};

TEST(SchemaTest, PrintsBackLibTorchsText) {
  for (absl::string_view text : kLibTorchSchemas) {
    absl::StatusOr<OperatorSchema> s = ParseSchema(text);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(ToSchemaText(*s), text);
    EXPECT_EQ(Parsed(ToSchemaText(*s)), *s);
  }
}

TEST(SchemaTest, ReadsNamesTypesDefaultsAndKwargOnly) {
  OperatorSchema s = Parsed(kLibTorchSchemas[0]);
  EXPECT_EQ(s.name, "aten::add");
  EXPECT_EQ(s.overload, "Tensor");
  EXPECT_EQ(s.Target(), "aten::add.Tensor");
  ASSERT_EQ(s.arguments.size(), 3u);
  EXPECT_EQ(s.arguments[1].name, "other");
  EXPECT_EQ(s.arguments[1].type, Type::Tensor());
  EXPECT_FALSE(s.arguments[1].kwarg_only);
  EXPECT_FALSE(s.arguments[1].default_value.has_value());
  EXPECT_TRUE(s.arguments[2].kwarg_only);
  EXPECT_EQ(s.arguments[2].type, Type::Leaf(Type::Kind::kScalar));
  EXPECT_EQ(*s.arguments[2].default_value, Argument::Int(1));
  ASSERT_EQ(s.returns.size(), 1u);
  EXPECT_EQ(s.returns[0].type, Type::Tensor());
}

TEST(SchemaTest, SizedListDefaultIsTheFullList) {
  OperatorSchema s = Parsed(kLibTorchSchemas[2]);
  const SchemaArgument& stride = s.arguments[3];
  EXPECT_EQ(stride.type, Type::List(Type::Int()));
  EXPECT_EQ(stride.list_size, 2);
  EXPECT_EQ(*stride.default_value, Argument::List({Argument::Int(1), Argument::Int(1)}));
  EXPECT_EQ(*s.arguments[2].default_value, Argument::None());
  EXPECT_EQ(Parsed(kLibTorchSchemas[4]).arguments[4].default_value, Argument::Double(1e-05));
  EXPECT_EQ(*Parsed(kLibTorchSchemas[15]).arguments[2].default_value, Argument::String("constant"));
}

TEST(SchemaTest, AliasAnnotations) {
  OperatorSchema add_ = Parsed(kLibTorchSchemas[1]);
  ASSERT_TRUE(add_.arguments[0].alias.has_value());
  EXPECT_THAT(add_.arguments[0].alias->before_sets, ElementsAre("a"));
  EXPECT_TRUE(add_.arguments[0].alias->is_write);
  EXPECT_THAT(WrittenArguments(add_), ElementsAre(0));
  EXPECT_EQ(AliasedArgument(add_), 0);

  OperatorSchema chunk = Parsed(kLibTorchSchemas[5]);
  EXPECT_THAT(chunk.arguments[0].alias->after_sets, ElementsAre("*"));
  EXPECT_FALSE(chunk.returns[0].alias.has_value());
  EXPECT_THAT(chunk.returns[0].element_alias->before_sets, ElementsAre("a"));
  EXPECT_THAT(WrittenArguments(chunk), ElementsAre());
  EXPECT_EQ(AliasedArgument(chunk), 0);  // the pieces are views of self

  OperatorSchema foreach = Parsed(kLibTorchSchemas[12]);
  EXPECT_TRUE(foreach.arguments[0].element_alias->is_write);
  EXPECT_THAT(WrittenArguments(foreach), ElementsAre(0));
  EXPECT_EQ(AliasedArgument(Parsed(kLibTorchSchemas[0])), -1);
  // The wildcard set aliases nothing in particular.
  EXPECT_EQ(AliasedArgument(Parsed("aten::f(Tensor(*) self) -> Tensor(*)")), -1);
}

TEST(SchemaTest, VarargsAndReturnLists) {
  OperatorSchema format = Parsed("aten::format(str self, ...) -> str");
  EXPECT_TRUE(format.is_vararg);
  EXPECT_FALSE(format.is_varret);
  OperatorSchema unpack = Parsed("prim::TupleUnpack(Any tup) -> ...");
  EXPECT_TRUE(unpack.is_varret);
  EXPECT_TRUE(unpack.returns.empty());
  OperatorSchema max = Parsed(kLibTorchSchemas[7]);
  ASSERT_EQ(max.returns.size(), 2u);
  EXPECT_EQ(max.returns[1].name, "indices");
  OperatorSchema items = Parsed(kLibTorchSchemas[8]);
  ASSERT_EQ(items.returns.size(), 1u);
  EXPECT_EQ(items.returns[0].type, Type::List(Type::Tuple({Type::Str(), Type::Var("t")})));
  EXPECT_EQ(Parsed("aten::f() -> ()").returns.size(), 0u);
}

TEST(SchemaTest, RejectsMalformedSchemas) {
  EXPECT_THAT(std::string(ParseSchema("aten::f(Tensor x").status().message()),
              HasSubstr("expected ','"));
  EXPECT_THAT(std::string(ParseSchema("aten::f(Tensor x) Tensor").status().message()),
              HasSubstr("expected '->'"));
  EXPECT_THAT(std::string(ParseSchema("aten::f(int x=long) -> int").status().message()),
              HasSubstr("cannot read default value 'long'"));
  EXPECT_THAT(std::string(ParseSchema("aten::f(Tensor(a x) -> int").status().message()),
              HasSubstr("expected ')'"));
}

TEST(ParseSchemaTest, DeeplyNestedDefaultIsAnError) {
  std::string text = "aten::f(int[] x=" + std::string(100000, '[') + ") -> Tensor";
  absl::StatusOr<OperatorSchema> s = ParseSchema(text);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace featx
