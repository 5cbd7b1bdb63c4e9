#include "tracer/from_c10.h"

#include <sstream>
#include <string>
#include <vector>

#include "ATen/Functions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/csrc/jit/runtime/operator.h"

namespace featx {
namespace {

using ::testing::IsEmpty;

TEST(TypeFromC10Test, MapsEachKind) {
  EXPECT_EQ(TypeFromC10(c10::TensorType::get()), Type::Tensor());
  // A tensor type with shape information is still Tensor.
  EXPECT_EQ(TypeFromC10(c10::TensorType::create(at::ones({2, 3}))), Type::Tensor());
  EXPECT_EQ(TypeFromC10(c10::IntType::get()), Type::Int());
  EXPECT_EQ(TypeFromC10(c10::ListType::ofInts()), Type::List(Type::Int()));
  EXPECT_EQ(TypeFromC10(c10::OptionalType::create(c10::TensorType::get())),
            Type::Optional(Type::Tensor()));
  EXPECT_EQ(TypeFromC10(c10::TupleType::create({c10::TensorType::get(), c10::FloatType::get()})),
            Type::Tuple({Type::Tensor(), Type::Float()}));
  EXPECT_EQ(TypeFromC10(c10::DictType::create(c10::StringType::get(), c10::TensorType::get())),
            Type::Dict(Type::Str(), Type::Tensor()));
  EXPECT_EQ(TypeFromC10(c10::NoneType::get()), Type::None());
  EXPECT_EQ(TypeFromC10(c10::DeviceObjType::get()), Type::Device());
  EXPECT_EQ(TypeFromC10(c10::NumberType::get()), Type::Leaf(Type::Kind::kScalar));
  EXPECT_EQ(TypeFromC10(c10::VarType::create("t")), Type::Var("t"));
  EXPECT_EQ(TypeFromC10(c10::StorageType::get()), Type::Named("Storage"));
}

// Node types used to be LibTorch's annotation_str() with any tensor type as
// "Tensor"; the canonical spelling is the same text.
TEST(TypeFromC10Test, CanonicalSpellingIsLibTorchsAnnotation) {
  std::vector<c10::TypePtr> types = {
      c10::TensorType::get(),
      c10::ListType::ofTensors(),
      c10::ListType::create(c10::OptionalType::create(c10::TensorType::get())),
      c10::OptionalType::create(c10::ListType::ofInts()),
      c10::TupleType::create({c10::TensorType::get(), c10::ListType::ofInts()}),
      c10::DictType::create(c10::StringType::get(), c10::TensorType::get()),
      c10::NoneType::get(),
      c10::BoolType::get(),
      c10::StringType::get(),
      c10::DeviceObjType::get(),
      c10::FloatType::get(),
  };
  for (const c10::TypePtr& t : types) {
    EXPECT_EQ(TypeFromC10(t).ToString(), t->annotation_str());
    EXPECT_EQ(TypeFromC10(t).ToSchemaString(), t->str());
  }
}

// Every schema LibTorch registers converts, prints as LibTorch prints it
// (what the C++ emitter used to receive), and parses back to the same value.
TEST(SchemaFromC10Test, EveryRegisteredOperatorPrintsAsLibTorchDoes) {
  int checked = 0;
  std::vector<std::string> problems;
  for (const std::shared_ptr<torch::jit::Operator>& op : torch::jit::getAllOperators()) {
    std::ostringstream want;
    want << op->schema();
    absl::StatusOr<OperatorSchema> s = SchemaFromC10(op->schema());
    if (!s.ok()) {
      problems.push_back(absl::StrCat(want.str(), ": ", s.status().message()));
      continue;
    }
    ++checked;
    if (ToSchemaText(*s) != want.str()) {
      problems.push_back(absl::StrCat(want.str(), " printed as ", ToSchemaText(*s)));
      continue;
    }
    absl::StatusOr<OperatorSchema> parsed = ParseSchema(want.str());
    if (!parsed.ok()) {
      problems.push_back(std::string(parsed.status().message()));
    } else if (!(*parsed == *s)) {
      problems.push_back(absl::StrCat(want.str(), " parses to a different schema"));
    }
  }
  EXPECT_GT(checked, 2000);
  EXPECT_THAT(problems, IsEmpty());
}

TEST(SchemaFromC10Test, KeepsRealTypesDefaultsAndAliases) {
  c10::FunctionSchema to =
      torch::jit::getOperatorForLiteral(
          "aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False, bool "
          "copy=False, MemoryFormat? memory_format=None) -> Tensor(a)")
          ->schema();
  absl::StatusOr<OperatorSchema> s = SchemaFromC10(to);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->arguments[1].type, Type::Leaf(Type::Kind::kScalarType));
  EXPECT_EQ(s->arguments[4].type, Type::Optional(Type::Leaf(Type::Kind::kMemoryFormat)));
  EXPECT_EQ(*s->arguments[2].default_value, Argument::Bool(false));
  EXPECT_EQ(AliasedArgument(*s), 0);
}

TEST(LiteralFromIValueTest, ConvertsConstants) {
  EXPECT_EQ(*LiteralFromIValue(c10::IValue()), Argument::None());
  EXPECT_EQ(*LiteralFromIValue(c10::IValue(2.5)), Argument::Double(2.5));
  EXPECT_EQ(*LiteralFromIValue(c10::IValue(std::vector<int64_t>{1, 2})),
            Argument::List({Argument::Int(1), Argument::Int(2)}));
  EXPECT_EQ(*LiteralFromIValue(c10::IValue(c10::Device("cpu"))), Argument::Device("cpu"));
  EXPECT_EQ(LiteralFromIValue(c10::IValue(at::ones({1}))).status().code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace featx
