#include "viz/dot.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "naming/naming.h"

namespace featx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Named x, conv1, layer1.0.conv1, layer1.0.relu, layer1.0.add, layer1.1.conv1,
// layer1.1.relu, fc.
constexpr absl::string_view kGraph = R"(%0 = placeholder x : Tensor
%1 = call_module conv1(%0) : Tensor class=__torch__.torch.nn.modules.conv.Conv2d
%2 = call_module layer1.0.conv1(%1) : Tensor scope=layer1.0 class=__torch__.torch.nn.modules.conv.Conv2d
%3 = call_function aten::relu(%2) : Tensor scope=layer1.0
%4 = call_function aten::add.Tensor(%3, %1, 1) : Tensor scope=layer1.0
%5 = call_module layer1.1.conv1(%4) : Tensor scope=layer1.1 class=__torch__.torch.nn.modules.conv.Conv2d
%6 = call_function aten::relu(%5) : Tensor scope=layer1.1
%7 = call_module fc(%6) : Tensor class=__torch__.torch.nn.modules.linear.Linear
output(%7)
)";

std::string Dot(const DotOptions& options) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(kGraph);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return "";
  NameNodes(**g);
  return GraphToDot(**g, options);
}

TEST(GraphToDotTest, NestsClustersByModulePath) {
  std::string dot = Dot({});
  EXPECT_THAT(dot, HasSubstr("subgraph cluster_0 {\n    label=\"layer1\";\n"));
  EXPECT_THAT(dot, HasSubstr("    subgraph cluster_1 {\n      label=\"layer1.0\";\n"
                             "      n2 [label=\"layer1.0.conv1\\nConv2d\"];\n"
                             "      n3 [label=\"layer1.0.relu\\naten::relu\"];\n"));
  EXPECT_THAT(dot, HasSubstr("  n1 [label=\"conv1\\nConv2d\"];\n"));
  EXPECT_THAT(dot, HasSubstr("  n1 -> n4;\n"));  // the residual edge
  EXPECT_THAT(dot, Not(HasSubstr("featx-output")));
  EXPECT_THAT(dot, Not(HasSubstr("featx-pruned")));
}

TEST(GraphToDotTest, DepthCollapsesModulesIntoOneBox) {
  std::string dot = Dot({.depth = 2});
  EXPECT_THAT(dot, HasSubstr("subgraph cluster_0 {\n    label=\"layer1\";\n"
                             "    m0 [label=\"layer1.0\\n(3 nodes)\"];\n"
                             "    m1 [label=\"layer1.1\\n(2 nodes)\"];\n  }\n"));
  EXPECT_THAT(dot, Not(HasSubstr("layer1.0.relu")));
  EXPECT_THAT(dot, HasSubstr("  n1 -> m0;\n  m0 -> m1;\n  m1 -> n7;\n"));
}

TEST(GraphToDotTest, HighlightsOutputsWithKeysAndGreysPrunedNodes) {
  std::string dot =
      Dot({.output_keys = {{"layer1.0.relu", {"feat"}}},
           .kept = std::set<std::string>{"x", "conv1", "layer1.0.conv1", "layer1.0.relu"}});
  EXPECT_THAT(dot, HasSubstr("n3 [label=\"layer1.0.relu\\naten::relu\\n=> feat\", "
                             "class=\"featx-output\""));
  for (const char* pruned : {"n4 [label=\"layer1.0.add", "n5 [label=\"layer1.1.conv1",
                             "n7 [label=\"fc", "n8 [label=\"output"}) {
    EXPECT_THAT(dot, HasSubstr(absl::StrCat(pruned))) << pruned;
    size_t at = dot.find(pruned);
    EXPECT_THAT(dot.substr(at, dot.find('\n', at) - at), HasSubstr("class=\"featx-pruned\""))
        << pruned;
  }
  size_t conv = dot.find("n2 [label=");
  EXPECT_THAT(dot.substr(conv, dot.find('\n', conv) - conv), Not(HasSubstr("featx-")));
  EXPECT_THAT(dot, HasSubstr("n3 -> n4 [color=\"#bdbdbd\", style=dashed];"));
}

TEST(GraphToDotTest, CollapsedBoxKeepsKeysAndIsPrunedOnlyIfAllItsNodesAre) {
  std::string dot =
      Dot({.depth = 2,
           .output_keys = {{"layer1.0.relu", {"a", "b"}}},
           .kept = std::set<std::string>{"x", "conv1", "layer1.0.conv1", "layer1.0.relu"}});
  EXPECT_THAT(dot,
              HasSubstr("m0 [label=\"layer1.0\\n(3 nodes)\\n=> a, b\", class=\"featx-output\""));
  EXPECT_THAT(dot, HasSubstr("m1 [label=\"layer1.1\\n(2 nodes)\", class=\"featx-pruned\""));
}

TEST(GraphToDotTest, EscapesModelSuppliedText) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
output(%1)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  NameNodes(**g);
  std::string dot = GraphToDot(**g, {.title = "a\"b\\c"});
  EXPECT_THAT(dot, HasSubstr("label=\"a\\\"b\\\\c\""));
}

}  // namespace
}  // namespace featx
