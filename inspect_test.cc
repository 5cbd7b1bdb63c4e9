// Issue 11 on the seed CNN and resnet18: FeatureInfo, DescribeNodes (shape
// propagation, filters), DrawGraph, glob return nodes, and the codegen
// manifest. Shapes are checked against PyTorch's own, recorded at build time
// by fixtures/shapes_reference.py (torchvision's create_feature_extractor).

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "ATen/Functions.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

struct Reference {
  std::vector<std::string> names;                      // torchvision's eval names, in order
  std::map<std::string, std::vector<int64_t>> shapes;  // tensors only
};

Reference ReadShapes(const std::string& model) {
  Reference ref;
  std::ifstream in("fixtures/" + model + "_shapes.txt");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() != 3) continue;
    ref.names.push_back(f[0]);
    if (f[1] == "-") continue;
    EXPECT_EQ(f[1], "torch.float32") << line;
    std::vector<int64_t> shape;
    for (absl::string_view d : absl::StrSplit(f[2], ',')) {
      int64_t v = 0;
      EXPECT_TRUE(absl::SimpleAtoi(d, &v)) << line;
      shape.push_back(v);
    }
    ref.shapes[f[0]] = shape;
  }
  EXPECT_FALSE(ref.names.empty()) << "no reference for " << model;
  return ref;
}

torch::jit::Module Load(const std::string& model) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/" + model + ".pt");
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

struct Case {
  std::string model;
  std::vector<int64_t> input_shape;
};

class ShapesTest : public ::testing::TestWithParam<Case> {};

// Every node's dtype and shape, and channels and stride for 4-d values,
// as PyTorch computes them.
TEST_P(ShapesTest, DescribeNodesMatchesPyTorch) {
  const Case& c = GetParam();
  Reference ref = ReadShapes(c.model);
  absl::StatusOr<std::vector<NodeDescription>> rows =
      DescribeNodes(Load(c.model), {.input_shape = c.input_shape});
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::string> names;
  for (const NodeDescription& n : *rows) names.push_back(n.name);
  EXPECT_EQ(names, ref.names);
  for (const NodeDescription& n : *rows) {
    auto want = ref.shapes.find(n.name);
    if (want == ref.shapes.end()) {
      EXPECT_TRUE(n.shape.empty()) << n.name;
      continue;
    }
    EXPECT_EQ(n.dtype, "float") << n.name;
    EXPECT_EQ(n.shape, want->second) << n.name;
    if (want->second.size() == 4) {
      EXPECT_EQ(n.channels, want->second[1]) << n.name;
      EXPECT_EQ(n.stride, c.input_shape[2] / want->second[2]) << n.name;
    } else {
      EXPECT_FALSE(n.channels.has_value()) << n.name;
    }
  }
}

// FeatureInfo on truncated, exact and glob return nodes: the node each
// resolves to, and that node's shape as PyTorch computes it.
TEST_P(ShapesTest, FeatureInfoMatchesPyTorch) {
  const Case& c = GetParam();
  Reference ref = ReadShapes(c.model);
  std::vector<std::string> return_nodes =
      c.model == "resnet18"
          ? std::vector<std::string>{"layer1", "layer2.0.add", "layer4:final", "glob:layer3.*.add"}
          : std::vector<std::string>{"blocks.1", "blocks.3.convs.0.0:conv", "glob:blocks.2.*"};
  absl::StatusOr<std::vector<FeatureDescription>> info =
      FeatureInfo(Load(c.model), {.return_nodes = return_nodes}, c.input_shape);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_GE(info->size(), 4u);
  for (const FeatureDescription& f : *info) {
    ASSERT_TRUE(ref.shapes.count(f.node)) << f.node;
    EXPECT_EQ(f.shape, ref.shapes[f.node]) << f.key;
    EXPECT_EQ(f.dtype, "float");
    EXPECT_EQ(f.channels, ref.shapes[f.node][1]) << f.key;
    EXPECT_EQ(f.stride, c.input_shape[2] / ref.shapes[f.node][2]) << f.key;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ShapesTest,
                         ::testing::Values(Case{"seed_cnn", {1, 3, 32, 32}},
                                           Case{"resnet18", {1, 3, 224, 224}}),
                         [](const auto& info) { return info.param.model; });

TEST(FeatureInfoTest, NamesNodeModuleAndType) {
  absl::StatusOr<std::vector<FeatureDescription>> info = FeatureInfo(
      Load("resnet18"), {.return_nodes = {"layer1", "layer2.0.add", "layer4:final"}}, {});
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->size(), 3u);
  EXPECT_EQ((*info)[0].key, "layer1");
  EXPECT_EQ((*info)[0].node, "layer1.1.relu_1");
  EXPECT_EQ((*info)[0].module, "layer1.1.relu");
  EXPECT_EQ((*info)[0].module_type, "torch.nn.modules.activation.ReLU");
  EXPECT_EQ((*info)[1].node, "layer2.0.add");
  EXPECT_EQ((*info)[1].module, "layer2.0");
  EXPECT_EQ((*info)[1].module_type, "");
  EXPECT_EQ((*info)[2].key, "final");
  EXPECT_EQ((*info)[2].node, "layer4.1.relu_1");
  // No input shape: nothing ran.
  for (const FeatureDescription& f : *info) {
    EXPECT_TRUE(f.dtype.empty() && f.shape.empty() && !f.channels && !f.stride) << f.key;
  }
}

TEST(FeatureInfoTest, LeafModuleOutputHasItsClass) {
  absl::StatusOr<std::vector<FeatureDescription>> info =
      FeatureInfo(Load("seed_cnn"),
                  {.return_nodes = {"blocks.1"}, .trace_options = {.leaf_modules = {"ConvBlock"}}},
                  {1, 3, 32, 32});
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->size(), 1u);
  EXPECT_EQ((*info)[0].node, "blocks.1");
  EXPECT_EQ((*info)[0].module, "blocks.1");
  EXPECT_THAT((*info)[0].module_type, HasSubstr("ConvBlock"));
  EXPECT_THAT((*info)[0].shape, ElementsAre(1, 128, 8, 8));
}

TEST(FeatureInfoTest, InputTheModelCannotTakeIsInvalidArgument) {
  absl::StatusOr<std::vector<FeatureDescription>> info =
      FeatureInfo(Load("resnet18"), {.return_nodes = {"layer1"}}, {1, 5});
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("input shape [1, 5]"));
}

// The codegen manifest lists what FeatureInfo returns.
TEST(FeatureInfoTest, ManifestListsFeatureInfo) {
  torch::jit::Module model = Load("resnet18");
  std::vector<std::string> nodes = {"layer1", "layer2.0.add", "layer4:final"};
  absl::StatusOr<CppExtractorFiles> files =
      GenerateCppExtractor(model, {.return_nodes = nodes,
                                   .class_name = "ResNet18Features",
                                   .namespace_name = "vision",
                                   .model_file = "resnet18.pt",
                                   .input_shape = {1, 3, 64, 64},
                                   .optimize = CppOptimization::kNone});
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<std::vector<FeatureDescription>> info =
      FeatureInfo(model, {.return_nodes = nodes}, {1, 3, 64, 64});
  ASSERT_TRUE(info.ok()) << info.status();
  nlohmann::json manifest = nlohmann::json::parse(files->manifest);
  ASSERT_EQ(manifest["outputs"].size(), info->size());
  for (size_t i = 0; i < info->size(); ++i) {
    const nlohmann::json& o = manifest["outputs"][i];
    EXPECT_EQ(o["key"], (*info)[i].key);
    EXPECT_EQ(o["node"], (*info)[i].node);
    EXPECT_EQ(o["module"], (*info)[i].module);
    EXPECT_EQ(o["module_type"], (*info)[i].module_type);
    EXPECT_EQ(o["shape"].get<std::vector<int64_t>>(), (*info)[i].shape);
    EXPECT_EQ(o["stride"], *(*info)[i].stride);
  }
  EXPECT_EQ(manifest["outputs"][2]["stride"], 32);
  EXPECT_EQ(manifest["class"], "ResNet18Features");
}

TEST(DescribeNodesTest, FilterAndOpSelectRows) {
  torch::jit::Module model = Load("resnet18");
  absl::StatusOr<std::vector<NodeDescription>> adds =
      DescribeNodes(model, {.filter = "layer3.*.add"});
  ASSERT_TRUE(adds.ok()) << adds.status();
  ASSERT_EQ(adds->size(), 2u);
  EXPECT_EQ((*adds)[0].name, "layer3.0.add");
  EXPECT_EQ((*adds)[1].name, "layer3.1.add");
  EXPECT_EQ((*adds)[0].opcode, "call_function");
  EXPECT_EQ((*adds)[0].module, "layer3.0");

  absl::StatusOr<std::vector<NodeDescription>> relus = DescribeNodes(model, {.op = "relu"});
  ASSERT_TRUE(relus.ok()) << relus.status();
  EXPECT_EQ(relus->size(), 17u);  // the stem's, and two per BasicBlock
  for (const NodeDescription& n : *relus) {
    EXPECT_EQ(n.target, "ReLU") << n.name;
    EXPECT_EQ(n.opcode, "call_module") << n.name;
  }
  absl::StatusOr<std::vector<NodeDescription>> none = DescribeNodes(model, {.op = "gelu"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(CreateFeatureExtractorTest, GlobReturnsEveryMatchKeyedByName) {
  torch::jit::Module model = Load("resnet18");
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(model, {.return_nodes = {"glob:layer*.0.add", "fc:logits"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  extractor->eval();
  c10::IValue out = extractor->forward({at::randn({1, 3, 64, 64})});
  std::vector<std::string> keys;
  for (const auto& kv : out.toGenericDict()) keys.push_back(kv.key().toStringRef());
  EXPECT_THAT(
      keys, ElementsAre("layer1.0.add", "layer2.0.add", "layer3.0.add", "layer4.0.add", "logits"));
}

TEST(DrawGraphTest, SeedCnnBlocks1HighlightedAndLaterBlocksGreyed) {
  absl::StatusOr<std::string> dot = DrawGraph(Load("seed_cnn"), {.return_nodes = {"blocks.1"}});
  ASSERT_TRUE(dot.ok()) << dot.status();
  EXPECT_THAT(*dot, HasSubstr("label=\"blocks.1.convs\";"));
  auto line = [&](absl::string_view label) {
    size_t at = dot->find(absl::StrCat("[label=\"", label, "\\n"));
    EXPECT_NE(at, std::string::npos) << label;
    if (at == std::string::npos) return std::string();
    return dot->substr(at, dot->find('\n', at) - at);
  };
  EXPECT_THAT(line("blocks.1.downsample"), HasSubstr("=> blocks.1\", class=\"featx-output\""));
  EXPECT_THAT(line("blocks.2.convs.0.0"), HasSubstr("featx-pruned"));
  EXPECT_THAT(line("cls"), HasSubstr("featx-pruned"));
  EXPECT_THAT(line("blocks.1.convs.0.0"), Not(HasSubstr("featx-")));
  EXPECT_THAT(line("x"), Not(HasSubstr("featx-")));
}

TEST(DrawGraphTest, UnknownReturnNodeIsNotFound) {
  absl::StatusOr<std::string> dot = DrawGraph(Load("seed_cnn"), {.return_nodes = {"blocks.9"}});
  EXPECT_EQ(dot.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace featx
