#include "codegen/types.h"

#include <limits>
#include <memory>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

std::string Type(absl::string_view type) {
  absl::StatusOr<std::string> t = CppType(type);
  return t.ok() ? *t : std::string(t.status().message());
}

TEST(CppTypeTest, MapsBothSpellings) {
  EXPECT_EQ(Type("Tensor"), "at::Tensor");
  EXPECT_EQ(Type("int"), "int64_t");
  EXPECT_EQ(Type("SymInt"), "int64_t");
  EXPECT_EQ(Type("float"), "double");
  EXPECT_EQ(Type("int[]"), "std::vector<int64_t>");
  EXPECT_EQ(Type("List[int]"), "std::vector<int64_t>");
  EXPECT_EQ(Type("Tensor?"), "c10::optional<at::Tensor>");
  EXPECT_EQ(Type("Optional[Tensor]"), "c10::optional<at::Tensor>");
  EXPECT_EQ(Type("Dict[str, Tensor]"), "c10::Dict<std::string, at::Tensor>");
  EXPECT_EQ(Type("Tuple[Tensor, List[int]]"), "std::tuple<at::Tensor, std::vector<int64_t>>");
  EXPECT_EQ(Type("(Tensor, Tensor)"), "std::tuple<at::Tensor, at::Tensor>");
}

TEST(CppTypeTest, UnknownTypeIsUnimplemented) {
  absl::StatusOr<std::string> t = CppType("Future[int]");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(t.status().message()), ::testing::HasSubstr("Future[int]"));
}

TEST(ListElementTypeTest, BothSpellings) {
  EXPECT_EQ(ListElementType("List[float]"), "float");
  EXPECT_EQ(ListElementType("Tensor[]"), "Tensor");
  EXPECT_EQ(ListElementType("int"), "int");
}

class ArgumentExprsTest : public ::testing::Test {
 protected:
  ArgumentExprs exprs_{[](const Node* n) -> absl::StatusOr<std::string> { return n->name(); }};

  std::string Expr(const Argument& a, absl::string_view type, ListForm form = ListForm::kArrayRef) {
    absl::StatusOr<std::string> e = exprs_.Expr(a, type, form);
    return e.ok() ? *e : "error: " + std::string(e.status().message());
  }
};

TEST_F(ArgumentExprsTest, IntLiteralsTakeTheParameterType) {
  EXPECT_EQ(Expr(Argument::Int(3), "int"), "3");
  EXPECT_EQ(Expr(Argument::Int(3), ""), "int64_t{3}");
  EXPECT_EQ(Expr(Argument::Int(3), "float"), "static_cast<double>(int64_t{3})");
  EXPECT_EQ(Expr(Argument::Int(3), "Scalar"), "at::Scalar(int64_t{3})");
  EXPECT_EQ(Expr(Argument::Int(6), "ScalarType?"), "static_cast<at::ScalarType>(6)");
  EXPECT_EQ(Expr(Argument::Int(std::numeric_limits<int64_t>::min()), ""),
            "std::numeric_limits<int64_t>::min()");
}

TEST_F(ArgumentExprsTest, NoneDependsOnTheParameter) {
  EXPECT_EQ(Expr(Argument::None(), "Tensor?"), "c10::nullopt");
  EXPECT_EQ(Expr(Argument::None(), "Tensor"), "at::Tensor()");
}

TEST_F(ArgumentExprsTest, FloatsAndSpecialValues) {
  EXPECT_EQ(Expr(Argument::Double(0.5), "float"), "0.5");
  EXPECT_EQ(Expr(Argument::Double(std::numeric_limits<double>::infinity()), "float"),
            "std::numeric_limits<double>::infinity()");
  EXPECT_EQ(Expr(Argument::Double(-std::numeric_limits<double>::infinity()), "Scalar"),
            "at::Scalar(-std::numeric_limits<double>::infinity())");
}

TEST_F(ArgumentExprsTest, StringsAreEscapedLiterals) {
  EXPECT_EQ(Expr(Argument::String("a\"b\\c\n"), "str"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(Expr(Argument::Device("cpu"), "Device"), "at::Device(\"cpu\")");
}

TEST_F(ArgumentExprsTest, IntListsFollowTheListForm) {
  Argument list = Argument::List({Argument::Int(1), Argument::Int(2)});
  EXPECT_EQ(Expr(list, "int[]"), "at::IntArrayRef({1, 2})");
  EXPECT_EQ(Expr(list, "int[]", ListForm::kVector), "std::vector<int64_t>{1, 2}");
  EXPECT_EQ(Expr(list, "SymInt[]"), "c10::fromIntArrayRefUnchecked(at::IntArrayRef({1, 2}))");
  EXPECT_EQ(Expr(list, ""), "std::vector<int64_t>{1, 2}");
  EXPECT_EQ(Expr(Argument::List({Argument::Double(1.5)}), "float[]"), "std::vector<double>{1.5}");
  EXPECT_EQ(Expr(Argument::List({}), "t[]"), "{}");
}

TEST_F(ArgumentExprsTest, NodeValuesAreConvertedToTheParameter) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"g(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = placeholder o : "Optional[Tensor]"
output(%1, %2)
)g");
  ASSERT_TRUE(g.ok()) << g.status();
  Node* dim = (*g)->nodes()[1].get();
  Node* opt = (*g)->nodes()[2].get();
  dim->set_name("d");
  opt->set_name("o");
  EXPECT_EQ(Expr(Argument::NodeRef(dim), "Scalar"), "at::Scalar(d)");
  EXPECT_EQ(Expr(Argument::NodeRef(dim), "SymInt"), "c10::SymInt(d)");
  EXPECT_EQ(Expr(Argument::NodeRef(dim), "ScalarType"), "static_cast<at::ScalarType>(d)");
  // A refined Optional passed where a value is expected.
  EXPECT_EQ(Expr(Argument::NodeRef(opt), "Tensor"), "o.value()");
  EXPECT_EQ(Expr(Argument::NodeRef(opt), "Tensor?"), "o");
  EXPECT_EQ(Expr(Argument::List({Argument::NodeRef(dim), Argument::Int(4)}), "int[]"),
            "at::IntArrayRef(std::vector<int64_t>{d, 4})");
}

}  // namespace
}  // namespace featx
