#include "graph/type.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

Type Parsed(absl::string_view text) {
  absl::StatusOr<Type> t = ParseType(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status();
  return t.ok() ? *t : Type::Named("<error>");
}

TEST(TypeTest, LeavesParseAndPrintTheirNames) {
  for (absl::string_view name :
       {"Tensor", "int", "SymInt", "float", "complex", "bool", "str", "NoneType", "Device",
        "Scalar", "ScalarType", "Layout", "MemoryFormat", "Generator", "Any"}) {
    EXPECT_EQ(Parsed(name).ToString(), name);
    EXPECT_EQ(Parsed(name).ToSchemaString(), name);
  }
  EXPECT_EQ(Parsed("int"), Type::Int());
  EXPECT_EQ(Parsed("None"), Type::None());
  EXPECT_EQ(Parsed("number"), Type::Leaf(Type::Kind::kScalar));
}

TEST(TypeTest, BothSpellingsOfOptionalListTupleDictAreOneValue) {
  EXPECT_EQ(Parsed("Tensor?"), Parsed("Optional[Tensor]"));
  EXPECT_EQ(Parsed("int[]"), Parsed("List[int]"));
  EXPECT_EQ(Parsed("int[2]"), Parsed("List[int]"));
  EXPECT_EQ(Parsed("(Tensor, int)"), Parsed("Tuple[Tensor, int]"));
  EXPECT_EQ(Parsed("Dict(str, Tensor)"), Parsed("Dict[str, Tensor]"));
  EXPECT_EQ(Parsed("Future(int)"), Parsed("Future[int]"));
  EXPECT_EQ(Parsed("Tensor?[]"), Type::List(Type::Optional(Type::Tensor())));
  EXPECT_EQ(Parsed("int[]?"), Type::Optional(Type::List(Type::Int())));
  EXPECT_EQ(Parsed("List[Optional[Tensor]]"), Parsed("Tensor?[]"));
  EXPECT_NE(Parsed("Tensor?[]"), Parsed("Tensor[]?"));
  EXPECT_EQ(Parsed("()"), Type::Tuple({}));
  EXPECT_EQ(Parsed("Tuple[()]"), Type::Tuple({}));
}

TEST(TypeTest, PrintsOneCanonicalFormAndTheSchemaForm) {
  Type t = Parsed("Dict(str, (Tensor?, int[]))");
  EXPECT_EQ(t.ToString(), "Dict[str, Tuple[Optional[Tensor], List[int]]]");
  EXPECT_EQ(t.ToSchemaString(), "Dict(str, (Tensor?, int[]))");
  EXPECT_EQ(Parsed(t.ToString()), t);
  EXPECT_EQ(Parsed(t.ToSchemaString()), t);
  EXPECT_EQ(Type::Tuple({}).ToString(), "Tuple[()]");
  EXPECT_EQ(Type::Tuple({}).ToSchemaString(), "()");
  EXPECT_EQ(Parsed("Union[int, str]").ToSchemaString(), "Union(int, str)");
}

TEST(TypeTest, LowerCaseUnknownNamesAreTypeVariablesOthersAreNamed) {
  EXPECT_EQ(Parsed("t"), Type::Var("t"));
  EXPECT_EQ(Parsed("tVal[]"), Type::List(Type::Var("tVal")));
  Type point = Parsed("__torch__.m.Point");
  EXPECT_EQ(point.kind(), Type::Kind::kNamed);
  EXPECT_EQ(point.name(), "__torch__.m.Point");
  EXPECT_EQ(Parsed("Storage").kind(), Type::Kind::kNamed);
  EXPECT_EQ(point.ToString(), "__torch__.m.Point");
}

TEST(TypeTest, RejectsMalformedTypes) {
  EXPECT_THAT(std::string(ParseType("List[int").status().message()), HasSubstr("expected"));
  EXPECT_THAT(std::string(ParseType("Dict[str]").status().message()),
              HasSubstr("Dict takes 2 type(s), not 1"));
  EXPECT_THAT(std::string(ParseType("Tensor junk").status().message()),
              HasSubstr("unexpected 'junk'"));
  EXPECT_EQ(ParseType("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseType("Optional").status().code(), absl::StatusCode::kInvalidArgument);
  // A name starts with a letter or '_': "2?" would print as Optional[2], which
  // reads as a sized list (found by //fuzz:graph_text_fuzzer).
  EXPECT_EQ(ParseType("2?").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseType(".x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseType("__torch__.m.Point?").ok());
  // Nesting is bounded: an error, not a stack overflow (fuzzer finding).
  EXPECT_THAT(std::string(ParseType(std::string(100000, '(')).status().message()),
              HasSubstr("nested too deeply"));
  EXPECT_TRUE(ParseType("List[List[List[Optional[Tuple[int, Dict[str, Tensor]]]]]]").ok());
  // Suffixes nest too: "T???..." deeper than the bound would print as
  // Optional[Optional[...]] and not read back (fuzzer finding).
  EXPECT_THAT(std::string(ParseType("T" + std::string(120, '?')).status().message()),
              HasSubstr("nested too deeply"));
  EXPECT_THAT(std::string(ParseType("List[T" + std::string(99, '?') + "]").status().message()),
              HasSubstr("nested too deeply"));
  absl::StatusOr<Type> deepest = ParseType("T" + std::string(99, '?'));
  ASSERT_TRUE(deepest.ok()) << deepest.status();
  absl::StatusOr<Type> again = ParseType(deepest->ToString());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *deepest);
}

TEST(TypeTest, ConsumeTypeStopsAfterTheType) {
  absl::string_view text = "Tuple[Tensor, int] scope=a";
  absl::StatusOr<Type> t = ConsumeType(&text);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, Type::Tuple({Type::Tensor(), Type::Int()}));
  EXPECT_EQ(text, " scope=a");
  absl::string_view annotated = "Tensor(a!)[]";
  t = ConsumeBaseType(&annotated);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(annotated, "(a!)[]");
}

TEST(TypeTest, EqualTypesHashEqually) {
  absl::flat_hash_set<Type> set = {Parsed("int[]"), Parsed("List[int]"), Parsed("Tensor?"),
                                   Parsed("Optional[Tensor]"), Type::Tensor()};
  EXPECT_EQ(set.size(), 3u);
}

TEST(TypeTest, TensorContainers) {
  EXPECT_TRUE(Parsed("Tensor").IsTensorOrContainerOfTensors());
  EXPECT_TRUE(Parsed("Tensor[]").IsTensorOrContainerOfTensors());
  EXPECT_TRUE(Parsed("(Tensor, Tensor)").IsTensorOrContainerOfTensors());
  EXPECT_TRUE(Parsed("Dict[str, Tensor]").IsTensorOrContainerOfTensors());
  EXPECT_FALSE(Parsed("Tensor?").IsTensorOrContainerOfTensors());
  EXPECT_FALSE(Parsed("(Tensor, int)").IsTensorOrContainerOfTensors());
  EXPECT_FALSE(Parsed("int[]").IsTensorOrContainerOfTensors());
  EXPECT_TRUE(Parsed("(int, Tensor?)").ContainsTensor());
  EXPECT_FALSE(Parsed("(int, str[])").ContainsTensor());
}

}  // namespace
}  // namespace featx
