#include "naming/select.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "naming/naming.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

// Named x, conv1, layer1.0.conv1, layer1.0.relu, layer1.0.relu_1,
// layer2.0.conv1, layer2.1.relu, layer2.1.relu_1, layer10.relu, flatten, fc.
constexpr absl::string_view kResNetLike = R"(%0 = placeholder x : Tensor
%1 = call_module conv1(%0) : Tensor
%2 = call_module layer1.0.conv1(%1) : Tensor scope=layer1.0
%3 = call_module layer1.0.relu(%2) : Tensor scope=layer1.0
%4 = call_module layer1.0.relu(%3) : Tensor scope=layer1.0
%5 = call_module layer2.0.conv1(%4) : Tensor scope=layer2.0
%6 = call_module layer2.1.relu(%5) : Tensor scope=layer2.1
%7 = call_module layer2.1.relu(%6) : Tensor scope=layer2.1
%8 = call_function aten::relu(%7) : Tensor scope=layer10
%9 = call_function aten::flatten.using_ints(%8, 1, -1) : Tensor
%10 = call_module fc(%9) : Tensor
output(%10)
)";

std::unique_ptr<Graph> NamedGraph(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return std::make_unique<Graph>();
  NameNodes(**g);
  return *std::move(g);
}

// (key, resolved node name) of each selected output, or the error.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Select(
    absl::string_view text, const std::vector<std::string>& return_nodes) {
  std::unique_ptr<Graph> g = NamedGraph(text);
  absl::StatusOr<std::vector<ReturnNode>> selected = SelectOutputs(*g, return_nodes);
  if (!selected.ok()) return selected.status();
  std::vector<std::pair<std::string, std::string>> result;
  for (const ReturnNode& r : *selected) result.emplace_back(r.key, r.node->name());
  return result;
}

TEST(SelectOutputsTest, ExactNameSelectsThatNode) {
  auto selected = Select(kResNetLike, {"layer1.0.relu", "fc"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected, ElementsAre(Pair("layer1.0.relu", "layer1.0.relu"), Pair("fc", "fc")));
}

TEST(SelectOutputsTest, TruncatedQueryPicksLastNodeInScope) {
  auto selected = Select(kResNetLike, {"layer2", "layer1.0", "layer2.0"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected,
              ElementsAre(Pair("layer2", "layer2.1.relu_1"), Pair("layer1.0", "layer1.0.relu_1"),
                          Pair("layer2.0", "layer2.0.conv1")));
}

// "layer10.relu" comes later but is not inside "layer1".
TEST(SelectOutputsTest, TruncationMatchesWholeComponentsOnly) {
  auto selected = Select(kResNetLike, {"layer1"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected, ElementsAre(Pair("layer1", "layer1.0.relu_1")));

  auto partial = Select(kResNetLike, {"layer1.0.rel"});
  EXPECT_EQ(partial.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(partial.status().message()), HasSubstr("'layer1.0.rel'"));
}

// torchvision would take the last node under "features"; a node named exactly
// "features" is the one asked for.
TEST(SelectOutputsTest, ExactNameWinsOverTruncatedMatch) {
  auto selected = Select(R"(%0 = placeholder x : Tensor
%1 = call_module features(%0) : Tensor
%2 = call_function aten::relu(%1) : Tensor scope=features.0
output(%2)
)",
                         {"features", "features.0"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected,
              ElementsAre(Pair("features", "features"), Pair("features.0", "features.0.relu")));
}

TEST(SelectOutputsTest, KeyAfterLastColonRenamesOutput) {
  std::unique_ptr<Graph> g = NamedGraph(kResNetLike);
  absl::StatusOr<std::vector<ReturnNode>> selected = SelectOutputs(*g, {"layer2:feat"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  ASSERT_EQ(selected->size(), 1u);
  EXPECT_EQ((*selected)[0].key, "feat");
  EXPECT_EQ((*selected)[0].query, "layer2");
  EXPECT_EQ((*selected)[0].node, g->nodes()[7].get());

  // Split at the last ':', so the query "a:b" is looked up (and not found).
  auto colons = Select(kResNetLike, {"a:b:c"});
  EXPECT_EQ(colons.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(colons.status().message()), HasSubstr("node 'a:b' is not in the graph"));
}

TEST(SelectOutputsTest, SameNodeTwiceWithTwoKeysReturnsBoth) {
  auto selected = Select(kResNetLike, {"layer2:a", "layer2.1.relu_1:b"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected, ElementsAre(Pair("a", "layer2.1.relu_1"), Pair("b", "layer2.1.relu_1")));
}

TEST(SelectOutputsTest, OutputsComeInUserOrder) {
  auto selected = Select(kResNetLike, {"fc", "x", "layer1"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected,
              ElementsAre(Pair("fc", "fc"), Pair("x", "x"), Pair("layer1", "layer1.0.relu_1")));
}

TEST(SelectOutputsTest, UnknownQueryIsNotFoundWithClosestNames) {
  auto selected = Select(kResNetLike, {"conv1", "layer9"});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kNotFound);
  std::string message(selected.status().message());
  // Truncated names count as names; ties go to graph order.
  EXPECT_THAT(message, HasSubstr("node 'layer9' is not in the graph; closest: 'layer1', "
                                 "'layer2', 'layer10', 'layer1.0', 'layer2.0'."));
  EXPECT_THAT(message, HasSubstr("Run `featx nodes MODEL.pt` to see all names"));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
}

TEST(SelectOutputsTest, UnknownQueryInUnnamedGraphSaysSo) {
  absl::StatusOr<std::unique_ptr<Graph>> g =
      ParseGraph("%0 = placeholder x : Tensor\noutput(%0)\n");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<std::vector<ReturnNode>> selected = SelectOutputs(**g, {"x"});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(selected.status().message()),
              HasSubstr("node 'x' is not in the graph; the graph has no named nodes"));
}

TEST(SelectOutputsTest, DuplicateKeyIsInvalidArgument) {
  auto selected = Select(kResNetLike, {"layer1:f", "fc", "layer2:f"});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(selected.status().message()),
              HasSubstr("output key 'f' is given twice: by 'layer1:f' and by 'layer2:f'"));

  auto implicit = Select(kResNetLike, {"fc", "fc"});
  EXPECT_EQ(implicit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(implicit.status().message()),
              HasSubstr("output key 'fc' is given twice"));
}

TEST(SelectOutputsTest, EmptyQueryOrKeyIsInvalidArgument) {
  auto no_query = Select(kResNetLike, {":feat"});
  EXPECT_EQ(no_query.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_query.status().message()),
              HasSubstr("return node ':feat' has an empty query"));

  auto no_key = Select(kResNetLike, {"layer1:"});
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_key.status().message()),
              HasSubstr("return node 'layer1:' has an empty key"));

  auto empty = Select(kResNetLike, {""});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()),
              HasSubstr("return node '' has an empty query"));
}

TEST(GlobMatchTest, StarMatchesAnyRunIncludingDots) {
  EXPECT_TRUE(GlobMatch("layer3.*.add", "layer3.0.add"));
  EXPECT_TRUE(GlobMatch("layer3.*.add", "layer3.1.add"));
  EXPECT_TRUE(GlobMatch("layer3.*.add", "layer3.1.downsample.add"));
  EXPECT_FALSE(GlobMatch("layer3.*.add", "layer3.0.add_1"));
  EXPECT_FALSE(GlobMatch("layer3.*.add", "layer30.0.add"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*relu*", "layer1.0.relu_1"));
  EXPECT_FALSE(GlobMatch("relu", "layer1.0.relu"));
}

TEST(GlobMatchTest, QuestionMarkAndSets) {
  EXPECT_TRUE(GlobMatch("layer?.0.conv1", "layer4.0.conv1"));
  EXPECT_FALSE(GlobMatch("layer?.0.conv1", "layer10.0.conv1"));
  EXPECT_TRUE(GlobMatch("layer[12].0.relu", "layer2.0.relu"));
  EXPECT_FALSE(GlobMatch("layer[12].0.relu", "layer3.0.relu"));
  EXPECT_TRUE(GlobMatch("layer[1-3].0.relu", "layer3.0.relu"));
  EXPECT_TRUE(GlobMatch("layer[!1].0.relu", "layer2.0.relu"));
  EXPECT_FALSE(GlobMatch("layer[!1].0.relu", "layer1.0.relu"));
  // An unclosed '[' is an ordinary character.
  EXPECT_TRUE(GlobMatch("a[b", "a[b"));
}

TEST(GlobMatchTest, ManyStarsStayFast) {
  std::string name(2000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", name));
}

TEST(SelectOutputsTest, GlobExpandsToEveryMatchInExecutionOrderKeyedByName) {
  auto selected = Select(kResNetLike, {"fc", "glob:layer*.relu*", "conv1:stem"});
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_THAT(*selected, ElementsAre(Pair("fc", "fc"), Pair("layer1.0.relu", "layer1.0.relu"),
                                     Pair("layer1.0.relu_1", "layer1.0.relu_1"),
                                     Pair("layer2.1.relu", "layer2.1.relu"),
                                     Pair("layer2.1.relu_1", "layer2.1.relu_1"),
                                     Pair("layer10.relu", "layer10.relu"), Pair("stem", "conv1")));
}

TEST(SelectOutputsTest, GlobMatchingNothingIsNotFound) {
  auto selected = Select(kResNetLike, {"glob:layer3.*"});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(selected.status().message()),
              HasSubstr("no node name matches 'glob:layer3.*'"));
}

TEST(SelectOutputsTest, GlobKeyRepeatingAnotherKeyIsInvalidArgument) {
  auto selected = Select(kResNetLike, {"fc", "glob:f*"});
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(selected.status().message()),
              HasSubstr("output key 'fc' is given twice: by 'fc' and by 'glob:f*'"));
  auto empty = Select(kResNetLike, {"glob:"});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReturnNodesPerModeTest, ReturnNodesServeBothModes) {
  auto lists = ReturnNodesPerMode({.return_nodes = {"layer1", "fc:out"}});
  ASSERT_TRUE(lists.ok()) << lists.status();
  EXPECT_THAT(lists->first, ElementsAre("layer1", "fc:out"));
  EXPECT_THAT(lists->second, ElementsAre("layer1", "fc:out"));
}

TEST(ReturnNodesPerModeTest, SeparateTrainAndEvalLists) {
  auto lists = ReturnNodesPerMode({.train_return_nodes = {"a"}, .eval_return_nodes = {"b", "c"}});
  ASSERT_TRUE(lists.ok()) << lists.status();
  EXPECT_THAT(lists->first, ElementsAre("a"));
  EXPECT_THAT(lists->second, ElementsAre("b", "c"));
}

TEST(ReturnNodesPerModeTest, NothingGivenIsInvalidArgument) {
  auto lists = ReturnNodesPerMode({});
  EXPECT_EQ(lists.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lists.status().message()),
              HasSubstr("Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` "
                        "together, should be specified"));
}

TEST(ReturnNodesPerModeTest, OnlyOneOfTrainAndEvalIsInvalidArgument) {
  for (const ReturnNodeSpec& spec :
       {ReturnNodeSpec{.train_return_nodes = {"a"}}, ReturnNodeSpec{.eval_return_nodes = {"a"}},
        ReturnNodeSpec{.return_nodes = {"a"}, .eval_return_nodes = {"a"}}}) {
    auto lists = ReturnNodesPerMode(spec);
    EXPECT_EQ(lists.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(lists.status().message()),
                HasSubstr("If any of `train_return_nodes` and `eval_return_nodes` are specified, "
                          "then both should be specified"));
  }
}

TEST(ReturnNodesPerModeTest, ReturnNodesWithTrainAndEvalIsInvalidArgument) {
  auto lists = ReturnNodesPerMode(
      {.return_nodes = {"a"}, .train_return_nodes = {"a"}, .eval_return_nodes = {"a"}});
  EXPECT_EQ(lists.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lists.status().message()),
              HasSubstr("`return_nodes` should not be specified together with "
                        "`train_return_nodes` and `eval_return_nodes`"));
}

}  // namespace
}  // namespace featx
