#include "graph/graph.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::string_view kSeedText = R"(%0 = placeholder x : Tensor
%1 = get_attr param : Tensor
%2 = call_function aten::add.Tensor(%0, %1, 1) : Tensor
%3 = call_module submodule.lin(%2) : Tensor scope=submodule class=__torch__.torch.nn.modules.linear.Linear
%4 = call_function aten::relu(%3) : Tensor scope=submodule
%5 = call_function aten::clamp(%4, 0.0, 1.0) : Tensor
output(%5)
)";

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

TEST(GraphTest, AppendRecordsUsersInOrder) {
  Graph g;
  Node* x = g.Append({.op = OpCode::kPlaceholder, .target = "x"});
  Node* a = g.Append({.target = "aten::relu", .args = {Argument::NodeRef(x)}});
  Node* b = g.Append(
      {.target = "aten::cat",
       .args = {Argument::List({Argument::NodeRef(a), Argument::NodeRef(x), Argument::NodeRef(a)}),
                Argument::Int(1)}});
  g.Append({.op = OpCode::kOutput, .args = {Argument::NodeRef(b)}, .type = ""});
  EXPECT_THAT(x->users(), ElementsAre(a, b));
  EXPECT_THAT(a->users(), ElementsAre(b));  // used twice by b, listed once
  EXPECT_TRUE(Verify(g).ok()) << Verify(g);
}

TEST(GraphTest, ReplaceAllUsesWithMovesUsers) {
  std::unique_ptr<Graph> g = Parse(kSeedText);
  Node* x = g->nodes()[0].get();
  Node* param = g->nodes()[1].get();
  Node* add = g->nodes()[2].get();
  g->ReplaceAllUsesWith(param, x);
  EXPECT_THAT(param->users(), IsEmpty());
  EXPECT_THAT(x->users(), ElementsAre(add));
  EXPECT_EQ(add->args()[1], Argument::NodeRef(x));
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(GraphTest, EraseRefusesNodeWithUsers) {
  std::unique_ptr<Graph> g = Parse(kSeedText);
  absl::Status s = g->Erase(g->nodes()[2].get());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("still has 1 user"));
}

TEST(GraphTest, EraseUnusedNodeUpdatesUsersAndIndices) {
  std::unique_ptr<Graph> g = Parse(kSeedText);
  Node* clamp = g->nodes()[5].get();
  Node* relu = g->nodes()[4].get();
  g->SetArgs(g->output(), {Argument::NodeRef(relu)});
  ASSERT_TRUE(g->Erase(clamp).ok());
  EXPECT_THAT(relu->users(), ElementsAre(g->output()));
  EXPECT_EQ(g->IndexOf(g->output()), 5);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(GraphTest, EraseIfRemovesBatch) {
  std::unique_ptr<Graph> g = Parse(kSeedText);
  Node* x = g->nodes()[0].get();
  g->SetArgs(g->output(), {Argument::NodeRef(x)});
  int removed = g->EraseIf(
      [](const Node& n) { return n.op() != OpCode::kPlaceholder && n.op() != OpCode::kOutput; });
  EXPECT_EQ(removed, 5);
  EXPECT_EQ(PrintGraph(*g), "%0 = placeholder x : Tensor\noutput(%0)\n");
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(GraphTest, InsertBeforeKeepsOrder) {
  std::unique_ptr<Graph> g = Parse(kSeedText);
  Node* add = g->nodes()[2].get();
  Node* x = g->nodes()[0].get();
  Node* clone = g->InsertBefore(add, {.target = "aten::clone", .args = {Argument::NodeRef(x)}});
  EXPECT_EQ(g->IndexOf(clone), 2);
  EXPECT_EQ(g->IndexOf(add), 3);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(VerifyTest, RejectsNodeAfterOutput) {
  Graph g;
  Node* x = g.Append({.op = OpCode::kPlaceholder, .target = "x"});
  g.Append({.op = OpCode::kOutput, .args = {Argument::NodeRef(x)}, .type = ""});
  g.Append({.target = "aten::relu", .args = {Argument::NodeRef(x)}});
  absl::Status s = Verify(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("does not end with an output node"));
}

TEST(VerifyTest, RejectsTwoOutputs) {
  Graph g;
  Node* x = g.Append({.op = OpCode::kPlaceholder, .target = "x"});
  g.Append({.op = OpCode::kOutput, .args = {Argument::NodeRef(x)}, .type = ""});
  g.Append({.op = OpCode::kOutput, .args = {Argument::NodeRef(x)}, .type = ""});
  EXPECT_THAT(Verify(g).message(), HasSubstr("output node is not the last"));
}

TEST(VerifyTest, RejectsForwardReference) {
  Graph g;
  Node* x = g.Append({.op = OpCode::kPlaceholder, .target = "x"});
  Node* a = g.Append({.target = "aten::relu", .args = {Argument::NodeRef(x)}});
  Node* b = g.Append({.target = "aten::neg", .args = {Argument::NodeRef(x)}});
  g.Append({.op = OpCode::kOutput, .args = {Argument::NodeRef(a)}, .type = ""});
  g.SetArgs(a, {Argument::NodeRef(b)});
  absl::Status s = Verify(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("before it is defined"));
}

TEST(VerifyTest, RejectsPlaceholderAfterOtherNodes) {
  std::unique_ptr<Graph> g = Parse(
      "%0 = placeholder x : Tensor\n%1 = call_function aten::relu(%0) : Tensor\n"
      "%2 = placeholder y : Tensor\noutput(%1)\n");
  EXPECT_THAT(Verify(*g).message(), HasSubstr("comes after a non-placeholder"));
}

TEST(VerifyTest, RejectsMissingOutput) {
  std::unique_ptr<Graph> g = Parse("%0 = placeholder x : Tensor\n");
  EXPECT_THAT(Verify(*g).message(), HasSubstr("does not end with an output"));
}

TEST(VerifyTest, RejectsIfWithoutTwoBlocks) {
  std::unique_ptr<Graph> g =
      Parse("%0 = placeholder x : bool\n%1 = if(%0) : NoneType {\n  output()\n}\noutput()\n");
  EXPECT_THAT(Verify(*g).message(), HasSubstr("needs a condition and two blocks"));
}

TEST(VerifyTest, AcceptsBlockUsingOuterValue) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::eq.int(%1, 3) : bool
%3 = if(%2) : NoneType {
  output()
} {
  %4 = call_function aten::format("bad {}", %1) : str
  %5 = call_function prim::RaiseException(%4, None) : NoneType
  output()
}
output(%0)
)");
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
  Node* dim = g->nodes()[1].get();
  ASSERT_EQ(dim->users().size(), 2);
  EXPECT_EQ(dim->users()[1]->owner()->parent(), g->nodes()[3].get());
  EXPECT_TRUE(g->nodes()[3]->HasSideEffects());
}

TEST(TextTest, RoundTripsEveryArgumentKind) {
  constexpr absl::string_view kText =
      R"txt(%0 = placeholder "input x" : Tensor name=x
%1 = call_function aten::f(%0, None, true, false, -3, 0.1, 1e-05, 2.0, inf, nan, "a\"b\n", device("cpu"), [1, [2, %0]], (%0,), ()) : "(Tensor, Tensor?)" scope=a.b loc=m.py:3:4
output(%1)
)txt";
  std::unique_ptr<Graph> g = Parse(kText);
  EXPECT_EQ(PrintGraph(*g), kText);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(TextTest, RoundTripsNestedBlocks) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::relu_(%0) : Tensor mutates=0 alias_of=0
%3 = loop(3, true, %2) : Tensor {
  %4 = placeholder i : int
  %5 = placeholder carried : Tensor
  %6 = call_function aten::relu(%5) : Tensor
  output(true, %6)
}
output(%3)
)";
  std::unique_ptr<Graph> g = Parse(kText);
  EXPECT_EQ(PrintGraph(*g), kText);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
  EXPECT_THAT(g->nodes()[2]->mutates(), ElementsAre(0));
  EXPECT_EQ(g->nodes()[2]->alias_of(), 0);
}

TEST(TextTest, RoundTripsListsEndingInLiterals) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::view(%0, [%0, -1]) : Tensor
%2 = call_function aten::conv2d(%0, %0, None, [1, 1], [0, 0], [1, 1], 1) : Tensor
output(%2)
)";
  std::unique_ptr<Graph> g = Parse(kText);
  EXPECT_EQ(PrintGraph(*g), kText);
}

TEST(GraphTest, ErasingIfDropsUsesFromItsBlocks) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = call_function aten::Bool.Tensor(%0) : bool
%2 = if(%1) : NoneType {
  %3 = call_function aten::relu(%0) : Tensor
  output()
} {
  output()
}
output(%0)
)");
  Node* x = g->nodes()[0].get();
  ASSERT_EQ(x->users().size(), 3);  // Bool, relu in the block, output
  ASSERT_TRUE(g->Erase(g->nodes()[2].get()).ok());
  EXPECT_EQ(x->users().size(), 2);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(GraphTest, SetArgsKeepsUsesInsideItsBlocks) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_module m(%0) : Tensor {
  %3 = call_function aten::relu(%0) : Tensor
  output(%3)
}
output(%2)
)");
  Node* m = g->nodes()[2].get();
  g->SetArgs(m, {Argument::NodeRef(g->nodes()[1].get())});
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
  EXPECT_EQ(m->blocks()[0]->nodes()[0]->users().size(), 1);  // the block's output
}

TEST(TextTest, ReportsLineOfError) {
  absl::StatusOr<std::unique_ptr<Graph>> g =
      ParseGraph("%0 = placeholder x : Tensor\n%1 = call_function aten::relu(%7) : Tensor\n");
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(g.status().message(), HasSubstr("line 2: unknown node %7"));
}

TEST(TextTest, FormatDoubleIsShortestRoundTrip) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(1.0), "1.0");
  EXPECT_EQ(FormatDouble(1e-5), "1e-05");
  EXPECT_EQ(FormatDouble(0.30000000000000004), "0.30000000000000004");
  EXPECT_EQ(FormatDouble(-2.5), "-2.5");
}

}  // namespace
}  // namespace featx
