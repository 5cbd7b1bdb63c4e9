#include "codegen/builtins.h"

#include <memory>

#include "codegen/runtime.h"
#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

TEST(FillTemplateTest, ReplacesArgumentsAndType) {
  EXPECT_EQ(FillTemplate("std::max<double>($0, $1)", {"a", "b"}, "double"),
            "std::max<double>(a, b)");
  EXPECT_EQ(FillTemplate("DictFromPairs<$T>($0)", {"p"}, "c10::Dict<std::string, at::Tensor>"),
            "DictFromPairs<c10::Dict<std::string, at::Tensor>>(p)");
  // Arguments are not rescanned: a '$' inside one stays.
  EXPECT_EQ(FillTemplate("f($0, $1)", {"\"$1\"", "x"}, ""), "f(\"$1\", x)");
}

TEST(BuiltinTableTest, FindsRowsByTarget) {
  const BuiltinLowering* b = FindBuiltinLowering("aten::floordiv.int");
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(b->expr, "FloorDiv($0, $1)");
  EXPECT_STREQ(b->helper, "floordiv");
  EXPECT_EQ(FindBuiltinLowering("aten::conv2d"), nullptr);
}

TEST(BuiltinTableTest, EveryHelperIsARuntimeSection) {
  std::vector<std::string> names = RuntimeSectionNames();
  for (const char* target :
       {"aten::floordiv.int", "aten::remainder.int", "aten::__getitem__.t", "aten::_set_item.t",
        "aten::slice.t", "aten::add.t", "aten::__contains__.int_list", "aten::all.bool",
        "aten::find", "aten::__getitem__.Dict_str", "aten::dict.str", "aten::keys.str",
        "prim::max.self_int"}) {
    const BuiltinLowering* b = FindBuiltinLowering(target);
    ASSERT_NE(b, nullptr) << target;
    ASSERT_NE(b->helper, nullptr) << target;
    EXPECT_THAT(names, ::testing::Contains(b->helper)) << target;
  }
}

// The custom rows, on a small graph: `x is None` on an Optional, on a
// tensor, and list(literal).
TEST(BuiltinTableTest, CustomLoweringsReadTheNode) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"g(%0 = placeholder x : Tensor
%1 = placeholder o : "Optional[Tensor]"
%2 = call_function aten::__is__(%1, None) : bool
%3 = call_function aten::__isnot__(%0, None) : bool
%4 = call_function aten::list.t([1, 2]) : List[int]
output(%2, %3, %4)
)g");
  ASSERT_TRUE(g.ok()) << g.status();
  ArgumentExprs exprs([](const Node* n) -> absl::StatusOr<std::string> { return n->name(); });
  (*g)->nodes()[0]->set_name("x");
  (*g)->nodes()[1]->set_name("o");
  auto lower = [&](int i) {
    const Node& n = *(*g)->nodes()[i];
    const BuiltinLowering* b = FindBuiltinLowering(n.target());
    EXPECT_NE(b, nullptr);
    EXPECT_NE(b->custom, nullptr);
    std::vector<std::string> args;
    absl::StatusOr<std::string> e = b->custom(LoweringContext{n, args, exprs});
    return e.ok() ? *e : std::string(e.status().message());
  };
  EXPECT_EQ(lower(2), "!o.has_value()");
  EXPECT_EQ(lower(3), "true");  // a Tensor is never None
  EXPECT_EQ(lower(4), "std::vector<int64_t>{int64_t{1}, int64_t{2}}");
}

}  // namespace
}  // namespace featx
