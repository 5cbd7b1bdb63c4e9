#include "pruning/set_outputs.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

constexpr char kChain[] = R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::neg(%1) : Tensor
%3 = if(%2) : NoneType {
  %4 = call_function aten::sigmoid(%1) : Tensor
  output()
} {
  output()
}
output(%2)
)";

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

TEST(SetOutputsTest, SelectedNodesBecomeTheOutputsInOrderAndNothingIsErased) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* relu = g->nodes()[1].get();
  Node* x = g->nodes()[0].get();
  SetOutputsPass pass({relu, x, relu});
  EXPECT_EQ(pass.name(), "set-outputs");
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_THAT(PrintGraph(*g), HasSubstr("%2 = call_function aten::neg(%1) : Tensor\n"));
  EXPECT_THAT(PrintGraph(*g), HasSubstr("\noutput(%1, %0, %1)\n"));
  EXPECT_TRUE(Verify(*g).ok());
}

TEST(SetOutputsTest, SameOutputsReportNoChange) {
  std::unique_ptr<Graph> g = Parse(kChain);
  absl::StatusOr<bool> changed = SetOutputs(*g, {g->nodes()[2].get()});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(PrintGraph(*g), kChain);
}

TEST(SetOutputsTest, NodeInsideBlockIsInvalidArgumentAndGraphIsUnchanged) {
  std::unique_ptr<Graph> g = Parse(kChain);
  Node* sigmoid = g->nodes()[3]->blocks()[0]->nodes()[0].get();
  absl::StatusOr<bool> changed = SetOutputs(*g, {g->nodes()[1].get(), sigmoid});
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(changed.status().message()),
              HasSubstr("output 1 (call_function 'aten::sigmoid') is not a top-level node"));
  EXPECT_EQ(PrintGraph(*g), kChain);
}

TEST(SetOutputsTest, OutputNodeIsInvalidArgument) {
  std::unique_ptr<Graph> g = Parse(kChain);
  absl::StatusOr<bool> changed = SetOutputs(*g, {g->output()});
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(changed.status().message()),
              HasSubstr("output 0 is the graph's output node"));
}

}  // namespace
}  // namespace featx
