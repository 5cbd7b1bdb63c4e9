#include "pruning/dead_code.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

// Parses `text`, runs the pass, and returns the printed graph (or the error).
std::string Dce(absl::string_view text, const DeadCodeOptions& options = {},
                bool* changed = nullptr) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return "";
  absl::StatusOr<bool> result = EliminateDeadCode(**g, options);
  if (!result.ok()) return std::string(result.status().message());
  if (changed != nullptr) *changed = *result;
  EXPECT_TRUE(Verify(**g).ok()) << Verify(**g);
  return PrintGraph(**g);
}

TEST(EliminateDeadCodeTest, UnusedPureNodesGoAndInputsStay) {
  bool changed = false;
  EXPECT_EQ(Dce(R"(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::relu(%0) : Tensor
%3 = call_function aten::neg(%2) : Tensor
%4 = call_function aten::sigmoid(%0) : Tensor
output(%4)
)",
                {}, &changed),
            R"(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::sigmoid(%0) : Tensor
output(%2)
)");
  EXPECT_TRUE(changed);
}

TEST(EliminateDeadCodeTest, NothingDeadReportsNoChange) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
output(%1)
)";
  bool changed = true;
  EXPECT_EQ(Dce(kText, {}, &changed), kText);
  EXPECT_FALSE(changed);
}

// The issue's regression: add_into(y, x) as a statement. Nobody reads add_'s
// value, but mul reads y after add_ wrote it.
constexpr absl::string_view kWriteThenRead = R"(%0 = placeholder x : Tensor
%1 = call_function aten::add.Scalar(%0, 1, 1) : Tensor
%2 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor mutates=0 alias_of=0
%3 = call_function aten::mul.Scalar(%1, 2) : Tensor
output(%3)
)";

TEST(EliminateDeadCodeTest, WriteReadLaterIsKept) {
  EXPECT_EQ(Dce(kWriteThenRead), kWriteThenRead);
}

TEST(EliminateDeadCodeTest, WriteNobodyReadsLaterGoes) {
  EXPECT_EQ(Dce(R"(%0 = placeholder x : Tensor
%1 = call_function aten::add.Scalar(%0, 1, 1) : Tensor
%2 = call_function aten::mul.Scalar(%1, 2) : Tensor
%3 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor mutates=0 alias_of=0
output(%2)
)"),
            R"(%0 = placeholder x : Tensor
%1 = call_function aten::add.Scalar(%0, 1, 1) : Tensor
%2 = call_function aten::mul.Scalar(%1, 2) : Tensor
output(%2)
)");
}

// By default the output reads at the end, as TorchScript returns: a write
// after the returned value's node is seen. Read when computed, it is not.
constexpr absl::string_view kWriteAfterReturned = R"(%0 = placeholder x : Tensor
%1 = call_function aten::add.Scalar(%0, 1, 1) : Tensor
%2 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor mutates=0 alias_of=0
output(%1)
)";

TEST(EliminateDeadCodeTest, OutputReadAtEndSeesLaterWrite) {
  EXPECT_EQ(Dce(kWriteAfterReturned), kWriteAfterReturned);
}

TEST(EliminateDeadCodeTest, OutputReadWhenComputedIgnoresLaterWrite) {
  EXPECT_EQ(Dce(kWriteAfterReturned, {.output_reads = DeadCodeOptions::OutputReads::kWhenComputed}),
            R"(%0 = placeholder x : Tensor
%1 = call_function aten::add.Scalar(%0, 1, 1) : Tensor
output(%1)
)");
}

// x[0].add_(1): the write goes through a view; the base is read later.
TEST(EliminateDeadCodeTest, WriteThroughViewIsSeenByBase) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::mul.Scalar(%0, 1) : Tensor
%2 = call_function aten::select.int(%1, 0, 0) : Tensor alias_of=0
%3 = call_function aten::add_.Scalar(%2, 1, 1) : Tensor mutates=0 alias_of=0
%4 = call_function aten::mul.Scalar(%1, 3) : Tensor
output(%4)
)";
  EXPECT_EQ(Dce(kText), kText);
}

// A write to the graph's own input, seen by a later read of the input.
TEST(EliminateDeadCodeTest, WriteToInputIsSeenByLaterRead) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::mul_.Scalar(%0, 3) : Tensor mutates=0 alias_of=0
%3 = call_function aten::add.Tensor(%0, %1, 1) : Tensor
output(%3)
)";
  EXPECT_EQ(Dce(kText), kText);
}

// if x.sum() > 0: y.add_(10). The `if` yields nothing and nobody uses it,
// but its block writes y, which is read afterwards.
TEST(EliminateDeadCodeTest, WriteInBranchKeepsTheIf) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::mul.Scalar(%0, 1) : Tensor
%2 = call_function aten::sum(%0, None) : Tensor
%3 = call_function aten::gt.Scalar(%2, 0) : Tensor
%4 = call_function aten::Bool.Tensor(%3) : bool
%5 = if(%4) : NoneType {
  %6 = call_function aten::add_.Scalar(%1, 10, 1) : Tensor mutates=0 alias_of=0
  output()
} {
  output()
}
%7 = call_function aten::add.Scalar(%1, 1, 1) : Tensor
output(%7)
)";
  EXPECT_EQ(Dce(kText), kText);
}

// Dead nodes inside a kept block go; asserts inside stay.
TEST(EliminateDeadCodeTest, RecursesIntoBlocks) {
  EXPECT_EQ(Dce(R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::ne.int(%1, 2) : bool
%3 = if(%2) : Tensor {
  %4 = call_function aten::neg(%0) : Tensor
  %5 = call_function prim::RaiseException("bad", None) : NoneType
  %6 = call_function aten::relu(%0) : Tensor
  output(%6)
} {
  %7 = call_function aten::sigmoid(%0) : Tensor
  output(%0)
}
output(%3)
)"),
            R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::ne.int(%1, 2) : bool
%3 = if(%2) : Tensor {
  %4 = call_function prim::RaiseException("bad", None) : NoneType
  %5 = call_function aten::relu(%0) : Tensor
  output(%5)
} {
  output(%0)
}
output(%3)
)");
}

// A leaf call carries its body for code generation. A write in the body to
// the caller's tensor is seen by a later read; the body's own dead shape
// check goes.
TEST(EliminateDeadCodeTest, RecursesIntoLeafBodies) {
  EXPECT_EQ(Dce(R"(%0 = placeholder x : Tensor
%1 = call_function aten::mul.Scalar(%0, 2) : Tensor
%2 = call_module add_one(%1) : Tensor class=__torch__.AddOne mutates=0 alias_of=0 {
  %3 = call_function aten::size.int(%1, 0) : int
  %4 = call_function aten::add_.Scalar(%1, 1, 1) : Tensor mutates=0 alias_of=0
  output(%1)
}
%5 = call_function aten::relu(%1) : Tensor
output(%5)
)"),
            R"(%0 = placeholder x : Tensor
%1 = call_function aten::mul.Scalar(%0, 2) : Tensor
%2 = call_module add_one(%1) : Tensor class=__torch__.AddOne mutates=0 alias_of=0 {
  %3 = call_function aten::add_.Scalar(%1, 1, 1) : Tensor mutates=0 alias_of=0
  output(%1)
}
%4 = call_function aten::relu(%1) : Tensor
output(%4)
)");
}

// The write is only in the body (the call itself declares none): the read
// after it still keeps the call, with the write.
TEST(EliminateDeadCodeTest, WriteOnlyInLeafBodyKeepsTheCall) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::mul.Scalar(%0, 2) : Tensor
%2 = call_function __torch__.add_into(%1, %0) : Tensor {
  %3 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor mutates=0 alias_of=0
  output(%1)
}
%4 = call_function aten::relu(%1) : Tensor
output(%4)
)";
  EXPECT_EQ(Dce(kText), kText);
}

// An `if` yields a value that may be y itself; a write to that value is a
// write to y.
TEST(EliminateDeadCodeTest, WriteThroughIfResultIsSeenByItsSource) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = placeholder c : bool
%2 = call_function aten::add.Scalar(%0, 1, 1) : Tensor
%3 = if(%1) : Tensor {
  output(%2)
} {
  %4 = call_function aten::neg(%2) : Tensor
  output(%4)
}
%5 = call_function aten::add_.Scalar(%3, 1, 1) : Tensor mutates=0 alias_of=0
%6 = call_function aten::mul.Scalar(%2, 2) : Tensor
output(%6)
)";
  EXPECT_EQ(Dce(kText), kText);
}

// In a loop, a read early in the body sees a write later in the body, from
// the previous iteration.
TEST(EliminateDeadCodeTest, ReadInLoopSeesWriteLaterInBody) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::mul.Scalar(%0, 1) : Tensor
%2 = loop(3, true, %0) : Tensor {
  %3 = placeholder i : int
  %4 = placeholder acc : Tensor
  %5 = call_function aten::add.Tensor(%4, %1, 1) : Tensor
  %6 = call_function aten::mul_.Scalar(%1, 2) : Tensor mutates=0 alias_of=0
  output(true, %5)
}
output(%2)
)";
  EXPECT_EQ(Dce(kText), kText);
}

TEST(EliminateDeadCodeTest, TrailingAssertIsKeptOrDroppedAsAsked) {
  constexpr absl::string_view kText = R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::dim(%0) : int
%3 = call_function aten::ne.int(%2, 2) : bool
%4 = if(%3) : NoneType {
  %5 = call_function prim::RaiseException("bad", None) : NoneType
  output()
} {
  output()
}
output(%1)
)";
  EXPECT_EQ(Dce(kText), kText);
  EXPECT_EQ(Dce(kText, {.trailing_effects = DeadCodeOptions::TrailingEffects::kDrop}),
            R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
output(%1)
)");
}

TEST(EliminateDeadCodeTest, InvalidGraphIsFailedPrecondition) {
  Graph g;
  g.Append({.op = OpCode::kPlaceholder, .target = "x"});  // no output node
  absl::StatusOr<bool> result = EliminateDeadCode(g);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("output"));
}

}  // namespace
}  // namespace featx
