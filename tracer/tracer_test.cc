#include "tracer/tracer.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/schema.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "naming/naming.h"
#include "torch/csrc/jit/runtime/operator.h"
#include "torch/csrc/jit/serialization/import.h"

namespace featx {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

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
  EXPECT_THAT(NameNodes(**g),
              ElementsAre("x", "pair.add", "pair.mul", "attn", "getitem", "getitem_1"));
  const Node& attn = *(*g)->nodes()[3];
  EXPECT_EQ(attn.op(), OpCode::kCallModule);
  EXPECT_EQ(attn.module_type(), "__torch__.torch.nn.modules.activation.MultiheadAttention");
  EXPECT_EQ(NodeTypeText(attn), "Tuple[Tensor, Optional[Tensor]]");
  EXPECT_EQ(attn.value_type(), Type::Tuple({Type::Tensor(), Type::Optional(Type::Tensor())}));
  EXPECT_FALSE(attn.multiple_results());
}

// Every operator node of a real model carries its schema, as LibTorch's
// registry has it, and the graph with its types and schemas survives the
// text form.
TEST(TraceTest, OperatorNodesCarryTheirSchemaAndTheTextFormRoundTrips) {
  torch::jit::Module m = torch::jit::load("fixtures/resnet18.pt");
  // With the leaves' bodies: conv2d, batch_norm, relu_, max_pool2d, ...
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {.with_bodies = true});
  ASSERT_TRUE(g.ok()) << g.status();
  int operators = 0;
  ForEachNodeRecursive(**g, [&](Node* n) {
    if (!n->IsOperator()) return;
    ++operators;
    ASSERT_NE(n->schema(), nullptr) << n->target();
    EXPECT_EQ(n->schema()->Target(), n->target());
    c10::Symbol symbol = c10::Symbol::fromQualString(std::string(n->OperatorName()));
    std::string want;
    for (const auto& op : torch::jit::getAllOperatorsFor(symbol)) {
      if (op->schema().overload_name() != n->OverloadName()) continue;
      std::ostringstream text;
      text << op->schema();
      want = text.str();
    }
    EXPECT_EQ(ToSchemaText(*n->schema()), want);
  });
  EXPECT_GT(operators, 50);
  const Node* add = nullptr;
  for (const auto& n : (*g)->nodes()) {
    if (n->target() == "aten::add_.Tensor") add = n.get();
  }
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->schema()->arguments[2].name, "alpha");
  EXPECT_THAT(add->mutates(), ElementsAre(0));
  std::string text = PrintGraph(**g, {.schemas = true});
  absl::StatusOr<std::unique_ptr<Graph>> parsed = ParseGraph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(PrintGraph(**parsed, {.schemas = true}), text);
  EXPECT_THAT(text, HasSubstr("\nschema aten::add_.Tensor(Tensor(a!) self, Tensor other, *, "
                              "Scalar alpha=1) -> Tensor(a!)\n"));
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

// `self.calls = self.calls + 1` carries a value from one call to the next.
TEST(TraceTest, AttributeAssignmentIsUnimplementedWithContext) {
  torch::jit::Module m = Load("sets_attribute");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(g.status().message(), HasSubstr("attribute 'calls' of the top-level module "
                                              "(class SetsAttribute) at tracer_models.py:89:"));
  EXPECT_THAT(g.status().message(), Not(HasSubstr("<root>")));
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

namespace featx {
namespace {

// Models featx used to fail on (issue 7): //fixtures:robustness_models.
torch::jit::Module LoadRobustness(const std::string& name) {
  return torch::jit::load("fixtures/robustness/" + name + ".pt");
}

// torchvision's get_graph_node_names for a robustness model, in `mode`.
std::vector<std::string> TorchvisionNames(const std::string& name, const std::string& mode) {
  std::ifstream in("fixtures/robustness/" + name + "_names.txt");
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(mode + " ", 0) == 0) names.push_back(line.substr(mode.size() + 1));
  }
  EXPECT_FALSE(names.empty()) << name << " " << mode;
  return names;
}

// Every node of `g` and of its blocks, recursively.
std::vector<const Node*> AllNodes(const Graph& g) {
  std::vector<const Node*> all;
  ForEachNodeRecursive(g, [&all](Node* n) { all.push_back(n); });
  return all;
}

const Node* FindNamed(const Graph& g, const std::string& name) {
  for (const auto& n : g.nodes()) {
    if (n->name() == name) return n.get();
  }
  return nullptr;
}

// "opt={}".format(None) folds; int("not a number") cannot be folded (it
// throws) and stays a runtime node inside the branch the input decides.
TEST(TraceRobustnessTest, FormatWithNoneFoldsAndAFailingFoldStaysARuntimeNode) {
  torch::jit::Module m = LoadRobustness("format_none");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(Verify(**g).ok()) << Verify(**g);
  EXPECT_THAT(NameNodes(**g),
              ElementsAre("x", "dim", "ne", "if", "add", "sum", "lt", "Bool", "if_1", "mul"));
  // len("opt=None") == 8, folded into the add.
  EXPECT_EQ(PrintArgument(FindNamed(**g, "add")->args()[1]), "8");
  const Node* branch = FindNamed(**g, "if_1");
  ASSERT_EQ(branch->op(), OpCode::kIf);
  std::vector<std::string> targets;
  for (const Node* n : AllNodes(*branch->blocks()[0])) targets.push_back(n->target());
  EXPECT_THAT(targets, Contains("aten::Int.str"));
  // The message of the raise keeps its None argument at run time.
  std::vector<std::string> raise_branch;
  for (const Node* n : AllNodes(*FindNamed(**g, "if")->blocks()[0])) {
    raise_branch.push_back(n->target());
  }
  EXPECT_THAT(raise_branch, Contains("aten::format"));
  EXPECT_THAT(raise_branch, Contains("prim::RaiseException"));
}

// F.interpolate(scale_factor=...)'s body has argument checks that raise and
// then reads prim::Uninitialized values TorchScript left for the raising
// paths; with bodies, they are never evaluated.
TEST(TraceRobustnessTest, InterpolateWithScaleFactorTracesWithBodies) {
  torch::jit::Module m = LoadRobustness("interpolates");
  for (Mode mode : {Mode::kEval, Mode::kTrain}) {
    absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, mode, {.with_bodies = true});
    ASSERT_TRUE(g.ok()) << g.status();
    ASSERT_TRUE(Verify(**g).ok()) << Verify(**g);
    EXPECT_EQ(NameNodes(**g), TorchvisionNames("interpolates", "eval"));
    std::vector<std::string> targets;
    for (const Node* n : AllNodes(**g)) targets.push_back(n->target());
    EXPECT_THAT(targets, Contains("aten::upsample_nearest2d.vec"));
    EXPECT_THAT(targets, Contains("aten::upsample_bilinear2d.vec"));
    // The code after interpolate's raising checks is not traced: aten::len
    // of an Uninitialized list failed here before.
    EXPECT_THAT(targets, Not(Contains("aten::len.t")));
  }
}

// nn.LSTM, nn.GRU and nn.RNN are torch.nn leaves (their forward is compiled
// as forward__0/forward__1); their tuples are taken apart by getitem nodes,
// named as torchvision names them.
TEST(TraceRobustnessTest, RecurrentLayersAreLeavesNamedAsTorchvision) {
  torch::jit::Module m = LoadRobustness("recurrent");
  for (const TraceOptions& options :
       {TraceOptions{}, TraceOptions{.leaf_modules = {"LSTM"}},
        TraceOptions{.leaf_modules = {"torch.nn.modules.rnn.LSTM"}}}) {
    EXPECT_EQ(Names(m, Mode::kEval, options), TorchvisionNames("recurrent", "eval"));
    EXPECT_EQ(Names(m, Mode::kTrain, options), TorchvisionNames("recurrent", "train"));
  }
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  NameNodes(**g);
  for (const char* leaf : {"lstm", "gru", "rnn"}) {
    const Node* n = FindNamed(**g, leaf);
    ASSERT_NE(n, nullptr) << leaf;
    EXPECT_EQ(n->op(), OpCode::kCallModule) << leaf;
  }
  EXPECT_EQ(NodeTypeText(*FindNamed(**g, "lstm")), "Tuple[Tensor, Tuple[Tensor, Tensor]]");
  EXPECT_EQ(FindNamed(**g, "getitem_2")->args()[0].node(), FindNamed(**g, "getitem_1"));
}

// With bodies, the LSTM's flat weight list becomes its parameters' get_attr
// nodes, by identity, in _flat_weights_names order.
TEST(TraceRobustnessTest, RecurrentBodiesUseTheFlatWeightsAsParameters) {
  torch::jit::Module m = LoadRobustness("recurrent");
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {.with_bodies = true});
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(Verify(**g).ok()) << Verify(**g);
  NameNodes(**g);
  const Node* lstm = FindNamed(**g, "lstm");
  ASSERT_EQ(lstm->blocks().size(), 1u);
  const Node* op = nullptr;
  for (const Node* n : AllNodes(*lstm->blocks()[0])) {
    if (n->target() == "aten::lstm.input") op = n;
  }
  ASSERT_NE(op, nullptr) << PrintGraph(*lstm->blocks()[0]);
  const Argument& weights = op->args()[2];
  ASSERT_EQ(weights.elements().size(), 8u);
  std::vector<std::string> paths;
  for (const Argument& w : weights.elements()) paths.push_back(w.node()->target());
  EXPECT_THAT(paths, ElementsAre("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                 "lstm.bias_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1",
                                 "lstm.bias_ih_l1", "lstm.bias_hh_l1"));
  for (const char* leaf : {"gru", "rnn"}) {
    EXPECT_EQ(FindNamed(**g, leaf)->blocks().size(), 1u) << leaf;
  }
}

// An LSTM that is not a leaf: inside a user leaf's body, inlined down to
// aten::lstm.
TEST(TraceRobustnessTest, LstmInsideAUserLeafIsInlined) {
  torch::jit::Module m = LoadRobustness("wraps_encoder");
  EXPECT_EQ(Names(m, Mode::kEval), TorchvisionNames("wraps_encoder", "eval"));
  absl::StatusOr<std::unique_ptr<Graph>> g =
      Trace(m, Mode::kEval, {.leaf_modules = {"Encoder"}, .with_bodies = true});
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(Verify(**g).ok()) << Verify(**g);
  EXPECT_THAT(NameNodes(**g), ElementsAre("x", "encoder", "mul"));
  std::vector<std::string> targets;
  for (const Node* n : AllNodes(*(*g)->nodes()[1]->blocks()[0])) targets.push_back(n->target());
  EXPECT_THAT(targets, Contains("aten::lstm.input"));
  EXPECT_THAT(targets, Contains("encoder.lstm.weight_ih_l0"));
  EXPECT_THAT(targets, Not(Contains("encoder.lstm")));  // no call_module left inside
}

// `self.cache = self.lin(x)` then `self.cache.relu()` in the same forward:
// the read sees the assigned value; names as torchvision's.
TEST(TraceRobustnessTest, AttributeAssignedThenReadInForwardIsCallLocal) {
  torch::jit::Module m = LoadRobustness("local_state");
  EXPECT_EQ(Names(m, Mode::kEval), TorchvisionNames("local_state", "eval"));
  EXPECT_EQ(Names(m, Mode::kTrain), TorchvisionNames("local_state", "train"));
  absl::StatusOr<std::unique_ptr<Graph>> g = Trace(m, Mode::kEval, {});
  ASSERT_TRUE(g.ok()) << g.status();
  NameNodes(**g);
  // No get_attr of the stale `cache`; the relu reads the Linear's output.
  EXPECT_EQ(FindNamed(**g, "block.relu")->args()[0].node(), FindNamed(**g, "block.lin"));
  EXPECT_EQ(PrintArgument(FindNamed(**g, "block.mul")->args()[1]), "0.5");
}

TEST(TraceRobustnessTest, StateCarriedAcrossCallsNamesTheLineAndModulePath) {
  absl::StatusOr<std::unique_ptr<Graph>> g =
      Trace(LoadRobustness("carries_state"), Mode::kEval, {});
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(g.status().message(),
              HasSubstr("attribute 'calls' of module 'counter' (class Counter) at "
                        "robustness_models.py:"));
  EXPECT_THAT(g.status().message(), HasSubstr("carries over"));
  EXPECT_THAT(g.status().message(), Not(HasSubstr("<root>")));
}

TEST(TraceRobustnessTest, AssignmentTheInputDecidesIsRefusedWithItsLine) {
  absl::StatusOr<std::unique_ptr<Graph>> g =
      Trace(LoadRobustness("assigns_in_branch"), Mode::kEval, {});
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(g.status().message(),
              HasSubstr("attribute 'last' of the top-level module (class AssignsInBranch) at "
                        "robustness_models.py:"));
  EXPECT_THAT(g.status().message(), HasSubstr("depends on the input"));
  EXPECT_THAT(g.status().message(), Not(HasSubstr("<root>")));
}

// A real TORCH_INTERNAL_ASSERT from LibTorch, as a user would see it.
TEST(LibTorchErrorTest, InternalAssertTextIsRephrased) {
  std::string message;
  try {
    c10::IValue(1.5).toInt();
  } catch (const c10::Error& e) {
    ASSERT_THAT(e.what_without_backtrace(), HasSubstr("please report a bug to PyTorch"));
    message = DescribeLibTorchError(e);
  }
  EXPECT_THAT(message, HasSubstr("isInt()"));
  EXPECT_THAT(message, HasSubstr("ivalue.h:"));
  EXPECT_THAT(message, Not(HasSubstr("INTERNAL ASSERT")));
  EXPECT_THAT(message, Not(HasSubstr("report a bug")));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
  EXPECT_EQ(RephraseInternalAssert(
                "cannot trace aten::len: isList() INTERNAL ASSERT FAILED at "
                "\"./aten/src/ATen/core/ivalue_inl.h\":1925, please report a bug to PyTorch. "
                "Expected GenericList but got Uninitialized"),
            "cannot trace aten::len: isList() is false: a consistency check inside LibTorch "
            "failed (ivalue_inl.h:1925) on a value featx gave it. Expected GenericList but got "
            "Uninitialized");
  EXPECT_EQ(RephraseInternalAssert("[enforce fail at inline_container.cc:148] . Couldn't parse "
                                   "the version abc"),
            "Couldn't parse the version abc");
  EXPECT_EQ(RephraseInternalAssert("no assert here"), "no assert here");
}

}  // namespace
}  // namespace featx
