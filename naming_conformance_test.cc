// Names against torchvision where TorchScript spells a construct unlike FX:
// boolean-dispatched functionals, in-place methods, dict-building forwards,
// x.shape, overloaded forwards and other methods of submodules, branches only
// TorchScript takes, torchvision's subclasses of torchvision.ops classes, and
// truncated names of modules that return dicts. The reference is torchvision's
// own get_graph_node_names and create_feature_extractor on the same eager
// models, run at build time by //fixtures:naming_models and
// //fixtures:naming_torchvision_models.

#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "naming/naming.h"
#include "naming/select.h"
#include "torch/script.h"
#include "tracer/tracer.h"

namespace featx {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

struct Reference {
  std::vector<std::string> train, eval;
};

// "<mode> <name>" lines of //fixtures:naming/<model>_names.txt.
Reference ReadNames(const std::string& model) {
  Reference ref;
  std::ifstream in("fixtures/naming/" + model + "_names.txt");
  EXPECT_TRUE(in.good()) << "missing fixture for " << model;
  for (std::string line; std::getline(in, line);) {
    size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    (line.substr(0, space) == "train" ? ref.train : ref.eval).push_back(line.substr(space + 1));
  }
  return ref;
}

absl::StatusOr<torch::jit::Module> Load(const std::string& model) {
  return LoadModel("fixtures/naming/" + model + ".pt");
}

class NamingConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NamingConformanceTest, NamesEqualTorchvisionInBothModes) {
  Reference ref = ReadNames(GetParam());
  ASSERT_FALSE(ref.eval.empty());
  absl::StatusOr<torch::jit::Module> model = Load(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*model, {});
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(names->eval, ref.eval);
  EXPECT_EQ(names->train, ref.train);
  for (const std::string& name : names->eval) {
    EXPECT_THAT(name, Not(HasSubstr("Uninitialized")));
    EXPECT_THAT(name, Not(HasSubstr("_set_item")));
    EXPECT_THAT(name, Not(HasSubstr("warn")));
  }
}

INSTANTIATE_TEST_SUITE_P(SmallModels, NamingConformanceTest,
                         ::testing::Values("max_pools", "in_place_methods", "dict_segmentation",
                                           "dict_literals", "dense_block", "submodule_methods",
                                           "scripting_only_branches", "ops_subclasses"));
INSTANTIATE_TEST_SUITE_P(Torchvision, NamingConformanceTest,
                         ::testing::Values("densenet121", "fcn_resnet50", "regnet_x_400mf",
                                           "inception_v3"));

// A truncated name of a module whose forward returns a dict resolves to the
// node torchvision's create_feature_extractor returns for it.
class TruncatedNameTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TruncatedNameTest, ResolvesAsTorchvision) {
  std::ifstream in("fixtures/naming/" + GetParam() + "_truncated.txt");
  ASSERT_TRUE(in.good());
  std::vector<std::pair<std::string, std::string>> expected;  // query, node name
  for (std::string query, name; in >> query >> name;) expected.emplace_back(query, name);
  ASSERT_FALSE(expected.empty());
  absl::StatusOr<torch::jit::Module> model = Load(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  for (const auto& [query, name] : expected) {
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, {});
    ASSERT_TRUE(graph.ok()) << graph.status();
    NameNodes(**graph);
    absl::StatusOr<std::vector<ReturnNode>> resolved = SelectOutputs(**graph, {query});
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ((*resolved)[0].node->name(), name) << "query " << query;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TruncatedNameTest,
                         ::testing::Values("dict_segmentation", "dict_literals", "fcn_resnet50"));

// The extractor for a truncated `backbone` returns the tensor torchvision
// would: the last node inside it, here the output of `backbone.layer3`.
TEST(TruncatedNameTest, ExtractorForDictBackboneReturnsItsLastTensor) {
  absl::StatusOr<torch::jit::Module> model = Load("dict_segmentation");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"backbone"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  torch::NoGradGuard no_grad;
  at::Tensor x = torch::randn({1, 2, 8, 8});
  at::Tensor got = extractor->forward({x}).toGenericDict().at("backbone").toTensor();
  c10::impl::GenericDict out = model->forward({x}).toGenericDict();
  // result["aux"] = features["aux"] + 1, and features["out"] is layer3's output,
  // which the head consumes: compare with the backbone run directly.
  torch::jit::Module backbone = model->attr("backbone").toModule();
  at::Tensor expected = backbone.forward({x}).toGenericDict().at("out").toTensor();
  EXPECT_TRUE(got.allclose(expected, 1e-5, 1e-5));
}

}  // namespace
}  // namespace featx
