#include "tracer/leaf_effects.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(LeafEffectsTest, KnownFreshLibraryModuleNeitherWritesNorAliases) {
  LeafEffects e = EffectsOfLeaf(LeafKind::kModule, "torch.nn.modules.conv.Conv2d", false);
  EXPECT_THAT(e.mutates, IsEmpty());
  EXPECT_EQ(e.alias_of, -1);
  e = EffectsOfLeaf(LeafKind::kModule, "torchvision.ops.misc.Conv2dNormActivation", false);
  EXPECT_THAT(e.mutates, IsEmpty());
  EXPECT_EQ(e.alias_of, -1);
}

TEST(LeafEffectsTest, InplaceLibraryModuleWritesAndAliasesItsInput) {
  LeafEffects e = EffectsOfLeaf(LeafKind::kModule, "torch.nn.modules.activation.ReLU", true);
  EXPECT_THAT(e.mutates, ElementsAre(0));
  EXPECT_EQ(e.alias_of, 0);
}

TEST(LeafEffectsTest, OtherLibraryModuleMayReturnItsInputButDoesNotWriteIt) {
  // Identity returns its input, Flatten a view, Dropout its input in eval.
  for (absl::string_view cls :
       {"torch.nn.modules.linear.Identity", "torch.nn.modules.flatten.Flatten",
        "torch.nn.modules.dropout.Dropout", "torchvision.ops.stochastic_depth.StochasticDepth"}) {
    LeafEffects e = EffectsOfLeaf(LeafKind::kModule, cls, false);
    EXPECT_THAT(e.mutates, IsEmpty()) << cls;
    EXPECT_EQ(e.alias_of, 0) << cls;
  }
}

TEST(LeafEffectsTest, UsersOwnLeafMayWriteAndReturnItsInput) {
  for (LeafKind kind : {LeafKind::kModule, LeafKind::kFunction}) {
    // Even where its short name is a known-fresh library leaf's.
    LeafEffects e = EffectsOfLeaf(kind, "__main__.relu", false);
    EXPECT_THAT(e.mutates, ElementsAre(0));
    EXPECT_EQ(e.alias_of, 0);
  }
  LeafEffects e = EffectsOfLeaf(LeafKind::kModule, "torch.ao.nn.quantized.modules.Conv2d", false);
  EXPECT_THAT(e.mutates, ElementsAre(0));
}

TEST(LeafEffectsTest, TorchvisionSubclassesBehaveAsTheirBase) {
  // regnet's SimpleStemIN is a Conv2dNormActivation.
  LeafEffects e = EffectsOfLeaf(LeafKind::kModule, "torchvision.models.regnet.SimpleStemIN", false);
  EXPECT_THAT(e.mutates, IsEmpty());
  EXPECT_EQ(e.alias_of, -1);
}

TEST(LeafEffectsTest, Functions) {
  LeafEffects relu = EffectsOfLeaf(LeafKind::kFunction, "torch.nn.functional.relu", false);
  EXPECT_THAT(relu.mutates, IsEmpty());
  EXPECT_EQ(relu.alias_of, -1);
  LeafEffects relu_ = EffectsOfLeaf(LeafKind::kFunction, "torch.nn.functional.relu", true);
  EXPECT_THAT(relu_.mutates, ElementsAre(0));
  EXPECT_EQ(relu_.alias_of, 0);
  LeafEffects dropout = EffectsOfLeaf(LeafKind::kFunction, "torch.nn.functional.dropout", false);
  EXPECT_THAT(dropout.mutates, IsEmpty());
  EXPECT_EQ(dropout.alias_of, 0);
  LeafEffects swin = EffectsOfLeaf(
      LeafKind::kFunction, "torchvision.models.swin_transformer.shifted_window_attention", false);
  EXPECT_EQ(swin.alias_of, -1);
}

}  // namespace
}  // namespace featx
