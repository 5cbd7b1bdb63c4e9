#include "pruning/pruning.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The nodes of `graph` as the text form numbers them (%0, %1, ...): every
// node but output nodes, blocks included, in printing order.
std::vector<Node*> NodesById(const Graph& graph) {
  std::vector<Node*> nodes;
  ForEachNodeRecursive(graph, [&](Node* n) {
    if (n->op() != OpCode::kOutput) nodes.push_back(n);
  });
  return nodes;
}

struct Pruned {
  std::string graph;  // printed after pruning
  PruneResult result;
};

// Parses `text` and prunes it to the nodes numbered `ids` there.
absl::StatusOr<Pruned> Prune(absl::string_view text, const std::vector<int>& ids) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return g.status();
  std::vector<Node*> by_id = NodesById(**g);
  std::vector<Node*> outputs;
  for (int id : ids) outputs.push_back(by_id.at(id));
  absl::StatusOr<PruneResult> result = PruneToOutputs(**g, outputs);
  if (!result.ok()) return result.status();
  // Verify would dereference a user erased with a block; compare pointers only.
  absl::flat_hash_set<const Node*> kept;
  ForEachNodeRecursive(**g, [&](Node* n) { kept.insert(n); });
  ForEachNodeRecursive(**g, [&](Node* n) {
    for (const Node* user : n->users()) {
      EXPECT_TRUE(kept.contains(user)) << "a user of " << n->target() << " was erased";
    }
  });
  return Pruned{PrintGraph(**g), *std::move(result)};
}

TEST(PruneToOutputsTest, ChainIsCutAfterOutputAndInputsStay) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::relu(%0) : Tensor
%3 = call_function aten::neg(%2) : Tensor
%4 = call_function aten::sigmoid(%3) : Tensor
%5 = call_function aten::mul.Tensor(%4, %1) : Tensor
output(%5)
)",
                      {3});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = placeholder y : Tensor
%2 = call_function aten::relu(%0) : Tensor
%3 = call_function aten::neg(%2) : Tensor
output(%3)
)");
  EXPECT_THAT(pruned->result.copied, IsEmpty());
}

TEST(PruneToOutputsTest, MultipleOutputsKeepWhatAnyNeedsInGivenOrder) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::neg(%0) : Tensor
%3 = call_function aten::sigmoid(%1) : Tensor
%4 = call_function aten::tanh(%2) : Tensor
%5 = call_function aten::add.Tensor(%3, %4, 1) : Tensor
output(%5)
)",
                      {4, 1});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::neg(%0) : Tensor
%3 = call_function aten::tanh(%2) : Tensor
output(%3, %1)
)");
}

TEST(PruneToOutputsTest, DuplicateOutputsAreKept) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::neg(%1) : Tensor
output(%2)
)",
                      {1, 1});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
output(%1, %1)
)");
}

TEST(PruneToOutputsTest, ListsParametersAndModulesOfSurvivingNodes) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = get_attr stem.weight : Tensor class=parameter
%2 = get_attr stem.bias : Tensor class=parameter
%3 = call_function aten::conv2d(%0, %1, %2) : Tensor scope=stem
%4 = call_module layer.bn(%3) : Tensor scope=layer
%5 = call_module act(%4) : Tensor
%6 = get_attr stem.weight : Tensor class=parameter
%7 = call_function aten::conv2d(%5, %6) : Tensor
%8 = call_module act(%7) : Tensor
%9 = get_attr head.scale : Tensor class=buffer
%10 = call_module fc(%8) : Tensor
%11 = call_function aten::mul.Tensor(%10, %9) : Tensor
output(%11)
)",
                      {8});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_THAT(pruned->result.parameters, ElementsAre("stem.bias", "stem.weight"));
  EXPECT_THAT(pruned->result.modules, ElementsAre("act", "layer.bn"));
}

// An input check (torchvision's `if x.dim() != 4: raise`) that ran before the
// last output stays, with the values its block reads; one after it goes.
constexpr absl::string_view kAsserts = R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::ne.int(%1, 4) : bool
%3 = call_function aten::size.int(%0, 0) : int
%4 = if(%2) : NoneType {
  %5 = call_function aten::format("expected 4D input, batch {}", %3) : str
  %6 = call_function prim::RaiseException(%5, None) : NoneType
  output()
} {
  output()
}
%7 = call_function aten::relu(%0) : Tensor
%8 = if(%2) : NoneType {
  %9 = call_function aten::format("bad {}", %7) : str
  %10 = call_function prim::RaiseException(%9, None) : NoneType
  output()
} {
  output()
}
%11 = call_function aten::neg(%7) : Tensor
output(%11)
)";

TEST(PruneToOutputsTest, AssertBeforeLastOutputIsKeptWithWhatItReads) {
  auto pruned = Prune(kAsserts, {7});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::ne.int(%1, 4) : bool
%3 = call_function aten::size.int(%0, 0) : int
%4 = if(%2) : NoneType {
  %5 = call_function aten::format("expected 4D input, batch {}", %3) : str
  %6 = call_function prim::RaiseException(%5, None) : NoneType
  output()
} {
  output()
}
%7 = call_function aten::relu(%0) : Tensor
output(%7)
)");
}

TEST(PruneToOutputsTest, AssertAfterLastOutputIsDropped) {
  auto after_all = Prune(kAsserts, {11});
  ASSERT_TRUE(after_all.ok()) << after_all.status();
  EXPECT_EQ(after_all->graph, PrintGraph(**ParseGraph(kAsserts)));

  // Only the input placeholder is returned: no assert ran before it.
  auto none = Prune(kAsserts, {0});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->graph, R"(%0 = placeholder x : Tensor
output(%0)
)");
}

TEST(PruneToOutputsTest, LoopNeedsOuterValuesItsBodyReads) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::neg(%0) : Tensor
%3 = loop(3, true, %0) : Tensor {
  %4 = placeholder i : int
  %5 = placeholder acc : Tensor
  %6 = call_function aten::add.Tensor(%5, %2, 1) : Tensor
  output(true, %6)
}
%7 = call_function aten::sigmoid(%3) : Tensor
output(%7)
)",
                      {3});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::neg(%0) : Tensor
%2 = loop(3, true, %0) : Tensor {
  %3 = placeholder i : int
  %4 = placeholder acc : Tensor
  %5 = call_function aten::add.Tensor(%4, %1, 1) : Tensor
  output(true, %5)
}
output(%2)
)");
}

// neg reads relu's storage after add_ wrote it, so add_ must still run.
constexpr absl::string_view kAddInPlace = R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor mutates=0 alias_of=0
%3 = call_function aten::neg(%1) : Tensor
%4 = call_function aten::sigmoid(%2) : Tensor
output(%4)
)";

TEST(PruneToOutputsTest, InPlaceWriteSeenByLaterKeptNodeIsKept) {
  auto pruned = Prune(kAddInPlace, {3});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::add_.Tensor(%1, %0, 1) : Tensor mutates=0 alias_of=0
%3 = call_function aten::neg(%1) : Tensor
output(%3)
)");
  EXPECT_THAT(pruned->result.copied, IsEmpty());
}

// An output is the value its node computed; a later write nobody else reads
// is not run at all.
TEST(PruneToOutputsTest, InPlaceWriteSeenOnlyByOutputIsDropped) {
  auto pruned = Prune(kAddInPlace, {1});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
output(%1)
)");
  EXPECT_THAT(pruned->result.copied, IsEmpty());
}

// mul_ is no input of neg, but add_ (which neg needs) reads what mul_ wrote.
TEST(PruneToOutputsTest, EarlierInPlaceWriteSeenByKeptWriterIsKept) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::mul_.Scalar(%1, 2) : Tensor mutates=0 alias_of=0
%3 = call_function aten::add_.Scalar(%1, 1, 1) : Tensor mutates=0 alias_of=0
%4 = call_function aten::neg(%3) : Tensor
%5 = call_function aten::sigmoid(%0) : Tensor
output(%5)
)",
                      {4});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::mul_.Scalar(%1, 2) : Tensor mutates=0 alias_of=0
%3 = call_function aten::add_.Scalar(%1, 1, 1) : Tensor mutates=0 alias_of=0
%4 = call_function aten::neg(%3) : Tensor
output(%4)
)");
}

TEST(PruneToOutputsTest, InPlaceWriteThroughViewIsSeenByBase) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::unsqueeze(%1, 0) : Tensor alias_of=0
%3 = call_function aten::relu_(%2) : Tensor mutates=0 alias_of=0
%4 = call_function aten::neg(%1) : Tensor
output(%4)
)",
                      {4});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::unsqueeze(%1, 0) : Tensor alias_of=0
%3 = call_function aten::relu_(%2) : Tensor mutates=0 alias_of=0
%4 = call_function aten::neg(%1) : Tensor
output(%4)
)");
}

// A torchvision BasicBlock: ReLU(inplace=True) after bn1, and the residual
// add_ and ReLU(inplace=True) after bn2.
constexpr absl::string_view kBasicBlock = R"(%0 = placeholder x : Tensor name=x
%1 = call_module layer1.0.conv1(%0) : Tensor scope=layer1.0 name=layer1.0.conv1
%2 = call_module layer1.0.bn1(%1) : Tensor scope=layer1.0 name=layer1.0.bn1
%3 = call_module layer1.0.relu(%2) : Tensor scope=layer1.0 name=layer1.0.relu mutates=0 alias_of=0
%4 = call_module layer1.0.conv2(%3) : Tensor scope=layer1.0 name=layer1.0.conv2
%5 = call_module layer1.0.bn2(%4) : Tensor scope=layer1.0 name=layer1.0.bn2
%6 = call_function aten::add_.Tensor(%5, %0, 1) : Tensor scope=layer1.0 name=layer1.0.add mutates=0 alias_of=0
%7 = call_module layer1.0.relu(%6) : Tensor scope=layer1.0 name=layer1.0.relu_1 mutates=0 alias_of=0
output(%7)
)";

TEST(PruneToOutputsTest, OutputOverwrittenByKeptInPlaceReluIsCloned) {
  auto pruned = Prune(kBasicBlock, {2, 4});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor name=x
%1 = call_module layer1.0.conv1(%0) : Tensor scope=layer1.0 name=layer1.0.conv1
%2 = call_module layer1.0.bn1(%1) : Tensor scope=layer1.0 name=layer1.0.bn1
%3 = call_function aten::clone(%2, None) : Tensor scope=layer1.0 name=layer1.0.bn1_clone
%4 = call_module layer1.0.relu(%2) : Tensor scope=layer1.0 name=layer1.0.relu mutates=0 alias_of=0
%5 = call_module layer1.0.conv2(%4) : Tensor scope=layer1.0 name=layer1.0.conv2
output(%3, %5)
)");
  EXPECT_THAT(pruned->result.copied, ElementsAre("layer1.0.bn1"));
  EXPECT_THAT(pruned->result.modules,
              ElementsAre("layer1.0.bn1", "layer1.0.conv1", "layer1.0.conv2", "layer1.0.relu"));
}

TEST(PruneToOutputsTest, OutputNotOverwrittenLaterIsNotCloned) {
  auto conv2 = Prune(kBasicBlock, {4});
  ASSERT_TRUE(conv2.ok()) << conv2.status();
  EXPECT_EQ(conv2->graph, R"(%0 = placeholder x : Tensor name=x
%1 = call_module layer1.0.conv1(%0) : Tensor scope=layer1.0 name=layer1.0.conv1
%2 = call_module layer1.0.bn1(%1) : Tensor scope=layer1.0 name=layer1.0.bn1
%3 = call_module layer1.0.relu(%2) : Tensor scope=layer1.0 name=layer1.0.relu mutates=0 alias_of=0
%4 = call_module layer1.0.conv2(%3) : Tensor scope=layer1.0 name=layer1.0.conv2
output(%4)
)");
  EXPECT_THAT(conv2->result.copied, IsEmpty());

  // bn1 alone: the in-place relu after it is not run, so nothing overwrites it.
  auto bn1 = Prune(kBasicBlock, {2});
  ASSERT_TRUE(bn1.ok()) << bn1.status();
  EXPECT_EQ(bn1->graph, R"(%0 = placeholder x : Tensor name=x
%1 = call_module layer1.0.conv1(%0) : Tensor scope=layer1.0 name=layer1.0.conv1
%2 = call_module layer1.0.bn1(%1) : Tensor scope=layer1.0 name=layer1.0.bn1
output(%2)
)");
  EXPECT_THAT(bn1->result.copied, IsEmpty());
}

TEST(PruneToOutputsTest, OutputOverwrittenByResidualAddIsCloned) {
  auto pruned = Prune(kBasicBlock, {5, 7});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor name=x
%1 = call_module layer1.0.conv1(%0) : Tensor scope=layer1.0 name=layer1.0.conv1
%2 = call_module layer1.0.bn1(%1) : Tensor scope=layer1.0 name=layer1.0.bn1
%3 = call_module layer1.0.relu(%2) : Tensor scope=layer1.0 name=layer1.0.relu mutates=0 alias_of=0
%4 = call_module layer1.0.conv2(%3) : Tensor scope=layer1.0 name=layer1.0.conv2
%5 = call_module layer1.0.bn2(%4) : Tensor scope=layer1.0 name=layer1.0.bn2
%6 = call_function aten::clone(%5, None) : Tensor scope=layer1.0 name=layer1.0.bn2_clone
%7 = call_function aten::add_.Tensor(%5, %0, 1) : Tensor scope=layer1.0 name=layer1.0.add mutates=0 alias_of=0
%8 = call_module layer1.0.relu(%7) : Tensor scope=layer1.0 name=layer1.0.relu_1 mutates=0 alias_of=0
output(%6, %8)
)");
  EXPECT_THAT(pruned->result.copied, ElementsAre("layer1.0.bn2"));
}

TEST(PruneToOutputsTest, DuplicateOutputsShareOneClone) {
  auto pruned = Prune(kBasicBlock, {2, 4, 2});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_THAT(pruned->graph, HasSubstr("%3 = call_function aten::clone(%2, None)"));
  EXPECT_THAT(pruned->graph, HasSubstr("output(%3, %5, %3)\n"));
  EXPECT_THAT(pruned->result.copied, ElementsAre("layer1.0.bn1"));
}

// The clone of a returned input goes after all placeholders.
TEST(PruneToOutputsTest, ReturnedInputWrittenInPlaceIsClonedAfterPlaceholders) {
  auto pruned = Prune(R"(%0 = placeholder x : Tensor name=x
%1 = placeholder y : Tensor name=y
%2 = call_function aten::relu_(%0) : Tensor name=relu mutates=0 alias_of=0
%3 = call_function aten::mul.Tensor(%2, %1) : Tensor name=mul
output(%3)
)",
                      {0, 3});
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->graph, R"(%0 = placeholder x : Tensor name=x
%1 = placeholder y : Tensor name=y
%2 = call_function aten::clone(%0, None) : Tensor name=x_clone
%3 = call_function aten::relu_(%0) : Tensor name=relu mutates=0 alias_of=0
%4 = call_function aten::mul.Tensor(%3, %1) : Tensor name=mul
output(%2, %4)
)");
  EXPECT_THAT(pruned->result.copied, ElementsAre("x"));
}

TEST(PruneToOutputsTest, OutputInsideBlockIsInvalidArgument) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(kAsserts);
  ASSERT_TRUE(g.ok()) << g.status();
  std::string before = PrintGraph(**g);
  std::vector<Node*> by_id = NodesById(**g);

  absl::StatusOr<PruneResult> in_block = PruneToOutputs(**g, {by_id[7], by_id[5]});
  EXPECT_EQ(in_block.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(in_block.status().message()),
              HasSubstr("output 1 (call_function 'aten::format') is not a top-level node"));

  absl::StatusOr<PruneResult> output_node = PruneToOutputs(**g, {(*g)->output()});
  EXPECT_EQ(output_node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(output_node.status().message()),
              HasSubstr("output 0 is the graph's output node"));

  EXPECT_EQ(PrintGraph(**g), before);
}

}  // namespace
}  // namespace featx
