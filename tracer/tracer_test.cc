#include "tracer/tracer.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "naming/naming.h"
#include "torch/csrc/jit/serialization/import.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

torch::jit::Module Load(const std::string& name) {
  return torch::jit::load("fixtures/tracer/" + name + ".pt");
}

std::vector<std::string> Names(const torch::jit::Module& m, Mode mode,
                               const TraceOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, mode, options);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return {};
  EXPECT_TRUE(Verify(**g).ok()) << Verify(**g);
  return NameNodes(**g);
}

TEST(TraceTest, TrainingIsFoldedPerMode) {
  torch::jit::Module m = Load("train_eval");
  EXPECT_THAT(Names(m, Mode::kTrain), ElementsAre("x", "mul", "relu"));
  EXPECT_THAT(Names(m, Mode::kEval), ElementsAre("x", "add", "relu"));
}

TEST(TraceTest, UserFunctionsAreTracedThroughUnlessAutowrapped) {
  torch::jit::Module m = Load("uses_helper");
  EXPECT_THAT(Names(m, Mode::kEval), ElementsAre("x", "relu", "add", "mul"));
  TraceOptions wrap{.autowrap_functions = {"helper"}};
  EXPECT_THAT(Names(m, Mode::kEval, wrap), ElementsAre("x", "helper", "mul"));
}

TEST(TraceTest, TorchFunctionsAreLeavesInTheCallersScope) {
  torch::jit::Module m = Load("nested");
  EXPECT_THAT(Names(m, Mode::kEval),
              ElementsAre("x", "inner.lin", "inner.relu", "other.lin", "other.relu"));
}

TEST(TraceTest, LeafModulesByPathShortOrQualifiedClass) {
  torch::jit::Module m = Load("nested");
  EXPECT_THAT(Names(m, Mode::kEval, {.leaf_modules = {"inner"}}),
              ElementsAre("x", "inner", "other.lin", "other.relu"));
  EXPECT_THAT(Names(m, Mode::kEval, {.leaf_modules = {"Inner"}}),
              ElementsAre("x", "inner", "other"));
  EXPECT_THAT(Names(m, Mode::kEval, {.leaf_modules = {"__main__.Inner"}}),
              ElementsAre("x", "inner", "other"));
  EXPECT_THAT(Names(m, Mode::kEval, {.leaf_modules = {"__torch__.Inner"}}),
              ElementsAre("x", "inner", "other"));
}

TEST(TraceTest, ConstantLoopsAreUnrolled) {
  torch::jit::Module m = Load("constant_loop");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(NameNodes(**g), ElementsAre("x", "add", "add_1", "add_2"));
  // The loop counter is folded into each unrolled add.
  EXPECT_EQ(PrintArgument((*g)->nodes()[3]->args()[1]), "2");
}

TEST(TraceTest, TuplesAreTakenApartWithGetitem) {
  torch::jit::Module m = Load("unpacks");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  // Pair is traced through, so its tuple is structural and needs no getitem;
  // MultiheadAttention is a leaf whose tuple result is indexed, as in FX.
  EXPECT_THAT(NameNodes(**g), ElementsAre("x", "pair.add", "pair.mul", "attn", "getitem",
                                          "getitem_1"));
  const Node& attn = *(*g)->nodes()[3];
  EXPECT_EQ(attn.op(), OpCode::kCallModule);
  EXPECT_EQ(attn.module_type(), "__torch__.torch.nn.modules.activation.MultiheadAttention");
  EXPECT_EQ(attn.type(), "Tuple[Tensor, Optional[Tensor]]");
}

TEST(TraceTest, DataDependentIfStaysStructured) {
  torch::jit::Module m = Load("data_dependent_if");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(Verify(**g).ok()) << Verify(**g);
  EXPECT_THAT(NameNodes(**g), ElementsAre("x", "sum", "gt", "Bool", "if"));
  const Node& branch = *(*g)->nodes()[4];
  ASSERT_EQ(branch.op(), OpCode::kIf);
  EXPECT_EQ(branch.blocks()[0]->nodes()[0]->target(), "aten::relu");
  EXPECT_EQ(branch.blocks()[1]->nodes()[0]->target(), "aten::neg");
}

TEST(TraceTest, AttributeAssignmentIsUnimplementedWithContext) {
  torch::jit::Module m = Load("sets_attribute");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(g.status().message(), HasSubstr("prim::SetAttr"));
  EXPECT_THAT(g.status().message(), HasSubstr("in module '<root>'"));
}

TEST(TraceTest, ParametersBecomeGetAttrNodes) {
  torch::jit::Module m = torch::jit::load("fixtures/seed_mymodule.pt");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  const Node& param = *(*g)->nodes()[1];
  EXPECT_EQ(param.op(), OpCode::kGetAttr);
  EXPECT_EQ(param.target(), "param");
  EXPECT_EQ(param.module_type(), "parameter");
}

TEST(TraceTest, ModuleIsNotChanged) {
  torch::jit::Module m = Load("train_eval");
  m.eval();
  std::string before = m.get_method("forward").graph()->toString();
  ASSERT_TRUE(Trace(m, Mode::kTrain, {}).ok());
  EXPECT_EQ(m.get_method("forward").graph()->toString(), before);
  EXPECT_FALSE(m.is_training());
}

TEST(DemangleClassNameTest, DropsTorchPrefixAndMangling) {
  EXPECT_EQ(DemangleClassName("__torch__.torch.nn.modules.container.___torch_mangle_8.Sequential"),
            "torch.nn.modules.container.Sequential");
  EXPECT_EQ(DemangleClassName("__torch__.ConvBlock"), "ConvBlock");
}

}  // namespace
}  // namespace featx

namespace featx {
namespace {

// In-place writes are recorded for pruning's in-place safety: aten::add_ from
// its schema, and a leaf nn.ReLU(inplace=True) from its `inplace` constant.
TEST(TraceTest, RecordsInPlaceWrites) {
  torch::jit::Module m = torch::jit::load("fixtures/resnet18.pt");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  NameNodes(**g);
  int checked = 0;
  for (const auto& n : (*g)->nodes()) {
    if (n->name() == "layer1.0.relu" || n->name() == "layer1.0.add") {
      EXPECT_THAT(n->mutates(), ElementsAre(0)) << n->name();
      EXPECT_EQ(n->alias_of(), 0) << n->name();
      ++checked;
    }
    if (n->name() == "layer1.0.conv2" || n->name() == "layer1.0.bn1") {
      EXPECT_TRUE(n->mutates().empty()) << n->name();
      EXPECT_EQ(n->alias_of(), -1) << n->name();
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

}  // namespace
}  // namespace featx

namespace featx {
namespace {

// A leaf that may hand back its input (StochasticDepth and Dropout do in eval
// mode) is assumed to alias it; known-fresh leaves such as Conv2d are not.
TEST(TraceTest, LeavesThatMayReturnTheirInputAlias) {
  torch::jit::Module m = torch::jit::load("fixtures/efficientnet_b0.pt");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  NameNodes(**g);
  int checked = 0;
  for (const auto& n : (*g)->nodes()) {
    if (n->name() == "features.2.1.stochastic_depth" || n->name() == "classifier.0") {
      EXPECT_EQ(n->alias_of(), 0) << n->name();  // StochasticDepth, Dropout
      ++checked;
    }
    if (n->name() == "features.0" || n->name() == "classifier.1") {
      EXPECT_EQ(n->alias_of(), -1) << n->name();  // Conv2dNormActivation, Linear
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

}  // namespace
}  // namespace featx
