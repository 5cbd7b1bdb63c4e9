// Conformance: featx's node names against torchvision's own answers, made at
// build time by //fixtures (torchvision's get_graph_node_names on the same
// models), and the API's error contract.

#include "featx.h"

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/csrc/jit/serialization/pickle.h"
#include "torch/script.h"

namespace featx {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Reference {
  std::vector<std::string> train;
  std::vector<std::string> eval;
  std::string error;  // torchvision's failure, if it failed
};

// Reads a //fixtures:<model>_names.txt file: "<mode> <name>" lines, or one
// "error <message>" line.
Reference ReadReference(const std::string& path) {
  Reference ref;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  std::string line;
  while (std::getline(in, line)) {
    size_t space = line.find(' ');
    std::string mode = line.substr(0, space);
    std::string rest = line.substr(space + 1);
    if (mode == "train") ref.train.push_back(rest);
    if (mode == "eval") ref.eval.push_back(rest);
    if (mode == "error") ref.error = rest;
  }
  return ref;
}

NodeNames NamesOf(const std::string& model, const TraceOptions& options = {}) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/" + model + ".pt");
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok()) return {};
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*m, options);
  EXPECT_TRUE(names.ok()) << names.status();
  return names.ok() ? *names : NodeNames{};
}

class TorchvisionConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionConformanceTest, NamesEqualTorchvisionInBothModes) {
  Reference ref = ReadReference("fixtures/" + GetParam() + "_names.txt");
  ASSERT_EQ(ref.error, "");
  ASSERT_FALSE(ref.eval.empty());
  NodeNames names = NamesOf(GetParam());
  EXPECT_EQ(names.eval, ref.eval);
  EXPECT_EQ(names.train, ref.train);
  EXPECT_EQ(names.difference, ref.train == ref.eval ? NodeNames::Difference::kSame
                                                    : NodeNames::Difference::kDifferent);
}

INSTANTIATE_TEST_SUITE_P(Models, TorchvisionConformanceTest,
                         ::testing::Values("seed_cnn", "seed_mymodule", "resnet18",
                                           "mobilenet_v3_large", "efficientnet_b0", "swin_t"));

TEST(GetGraphNodeNamesTest, SeedCnnWithConvBlockLeafMatchesTorchvision) {
  Reference ref = ReadReference("fixtures/seed_cnn_leaf_convblock_names.txt");
  ASSERT_EQ(ref.eval.size(), 8);
  NodeNames names = NamesOf("seed_cnn", {.leaf_modules = {"ConvBlock"}});
  EXPECT_EQ(names.eval, ref.eval);
  EXPECT_EQ(names.train, ref.train);
}

// torchvision's FX cannot trace vit_b_16 here; featx names it in the same style.
TEST(GetGraphNodeNamesTest, VitB16IsNamedWhereTorchvisionFails) {
  Reference ref = ReadReference("fixtures/vit_b_16_names.txt");
  EXPECT_THAT(ref.error, HasSubstr("Proxy object cannot be iterated"));
  NodeNames names = NamesOf("vit_b_16");
  for (const char* expected : {
           "x",
           "conv_proj",
           "class_token",
           "encoder.encoder_pos_embedding",
           "encoder.layers.encoder_layer_0.ln_1",
           "encoder.layers.encoder_layer_0.self_attention",
           "encoder.layers.encoder_layer_0.getitem",
           "encoder.layers.encoder_layer_0.add",
           // MLPBlock subclasses torchvision.ops.MLP: whole, as in torchvision.
           "encoder.layers.encoder_layer_0.mlp",
           "encoder.layers.encoder_layer_0.add_1",
           "encoder.layers.encoder_layer_11.add_1",
           "encoder.ln",
           "heads.head",
       }) {
    EXPECT_THAT(names.eval, Contains(expected));
  }
  EXPECT_EQ(names.train, names.eval);
}

TEST(LoadModelTest, MissingFileIsNotFound) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/no_such_model.pt");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("no_such_model.pt"));
}

TEST(LoadModelTest, NonTorchScriptFileIsInvalidArgument) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/seed_cnn_names.txt");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()),
              StartsWith("'fixtures/seed_cnn_names.txt' is not a readable"));
  EXPECT_FALSE(absl::StrContains(m.status().message(), "\n"));
}

TEST(LoadModelTest, TruncatedFileIsInvalidArgument) {
  std::ifstream in("fixtures/seed_mymodule.pt", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string path = ::testing::TempDir() + "/truncated.pt";
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  absl::StatusOr<torch::jit::Module> m = LoadModel(path);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GetGraphNodeNamesTest, UntraceableModelIsAStatusNotAnException) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/tracer/sets_attribute.pt");
  ASSERT_TRUE(m.ok());
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*m, {});
  EXPECT_EQ(names.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(GetGraphNodeNamesTest, ClassifiesTrainEvalDifference) {
  NodeNames names = NamesOf("tracer/train_eval");
  EXPECT_EQ(names.difference, NodeNames::Difference::kDifferent);
  EXPECT_THAT(DescribeDifference(names.difference), HasSubstr("different"));
}

// Pruning is real: the saved extractor for blocks.1 holds no parameter of the
// blocks after it, nor of the classifier.
TEST(CreateFeatureExtractorTest, ExtractorHoldsOnlyParametersItNeeds) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/seed_cnn.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"blocks.1"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  std::string path = ::testing::TempDir() + "/seed_cnn_blocks1.pt";
  extractor->save(path);
  torch::jit::Module loaded = torch::jit::load(path);
  std::vector<std::string> names;
  for (const auto& p : loaded.named_parameters(/*recurse=*/true)) names.push_back(p.name);
  EXPECT_THAT(names, Contains("blocks.0.convs.0.0.weight"));
  EXPECT_THAT(names, Contains("blocks.1.convs.2.0.bias"));
  for (const std::string& name : names) {
    EXPECT_FALSE(absl::StartsWith(name, "blocks.2.") || absl::StartsWith(name, "blocks.3.") ||
                 absl::StartsWith(name, "cls."))
        << name;
  }
  // 2 convs in blocks.0 and 3 in blocks.1, a weight and a bias each.
  EXPECT_EQ(names.size(), 10);
}

TEST(CreateFeatureExtractorTest, UnknownNodeIsNotFoundWithClosestNames) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/seed_cnn.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"blocks.9"}});
  EXPECT_EQ(extractor.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(extractor.status().message()), HasSubstr("blocks.9"));
  EXPECT_THAT(std::string(extractor.status().message()), HasSubstr("featx nodes"));
}

TEST(CreateFeatureExtractorTest, SeparateTrainAndEvalNodesFollowTheTrainingFlag) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/tracer/train_eval.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(
      *model, {.train_return_nodes = {"mul:y"}, .eval_return_nodes = {"add:y"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  at::Tensor x = torch::full({2}, 3.0);
  extractor->train(true);
  EXPECT_EQ(extractor->forward({x}).toGenericDict().at("y").toTensor()[0].item<double>(), 6.0);
  extractor->train(false);
  EXPECT_EQ(extractor->forward({x}).toGenericDict().at("y").toTensor()[0].item<double>(), 4.0);
}

// A loop that only the input decides stays a loop in the extractor.
TEST(CreateFeatureExtractorTest, DataDependentLoopIsRebuilt) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/tracer/data_dependent_loop.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"loop", "relu:out"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  for (int64_t batch : {1, 4}) {
    at::Tensor x = torch::randn({batch, 3});
    at::Tensor expected = model->forward({x}).toTensor();
    c10::impl::GenericDict out = extractor->forward({x}).toGenericDict();
    EXPECT_TRUE(out.at("out").toTensor().allclose(expected, 1e-6, 1e-6));
    EXPECT_TRUE(out.at("loop").toTensor().relu().allclose(expected, 1e-6, 1e-6));
  }
}

// Regressions from review: an append inside a data-dependent branch, an
// in-place write through a chunk view, and a branch that raises.
TEST(CreateFeatureExtractorTest, AppendInsideDataDependentBranch) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/tracer/append_in_branch.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"mul"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  for (double sign : {1.0, -1.0}) {
    at::Tensor x = torch::full({2}, sign);
    at::Tensor got = extractor->forward({x}).toGenericDict().at("mul").toTensor();
    EXPECT_TRUE(got.equal(model->forward({x}).toTensor())) << "sign " << sign << ": " << got;
  }
}

TEST(CreateFeatureExtractorTest, WriteThroughChunkViewDoesNotCorruptOutput) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/tracer/chunk_in_place.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"conv", "add"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  torch::NoGradGuard no_grad;  // the model writes into a chunk view, which autograd forbids
  at::Tensor x = torch::randn({1, 3, 2, 2});
  c10::impl::GenericDict out = extractor->forward({x}).toGenericDict();
  at::Tensor conv = model->attr("conv").toModule().forward({x}).toTensor();
  EXPECT_TRUE(out.at("conv").toTensor().allclose(conv));
  EXPECT_TRUE(out.at("add").toTensor().allclose(model->forward({x}).toTensor()));
}

TEST(CreateFeatureExtractorTest, BranchThatRaisesIsRebuilt) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/tracer/raise_branch.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = {"mul"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  at::Tensor x = torch::randn({2, 3});
  EXPECT_TRUE(extractor->forward({x}).toGenericDict().at("mul").toTensor().allclose(
      model->forward({x}).toTensor()));
  EXPECT_ANY_THROW(extractor->forward({torch::randn({2})}));  // the model's ValueError
}

// The same model and options give byte-identical generated files.
TEST(GenerateCppExtractorTest, IsDeterministic) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/resnet18.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  CppExtractorSpec spec{.return_nodes = {"layer1", "layer2.0.add:add"},
                        .class_name = "ResNet18Features",
                        .namespace_name = "vision",
                        .model_file = "resnet18.pt",
                        .input_shape = {1, 3, 64, 64}};
  absl::StatusOr<CppExtractorFiles> first = GenerateCppExtractor(*model, spec);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<torch::jit::Module> reloaded = LoadModel("fixtures/resnet18.pt");
  ASSERT_TRUE(reloaded.ok());
  absl::StatusOr<CppExtractorFiles> second = GenerateCppExtractor(*reloaded, spec);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->stem, "resnet18_features");
  EXPECT_EQ(first->header, second->header);
  EXPECT_EQ(first->source, second->source);
  EXPECT_EQ(first->manifest, second->manifest);
  EXPECT_TRUE(first->weights == second->weights);
  EXPECT_THAT(first->header, StartsWith("// Generated by featx from resnet18.pt. DO NOT EDIT.\n"));
  // The manifest (nlohmann-json, two-space indent; inspect_test checks it field by field).
  EXPECT_THAT(first->manifest, HasSubstr("\"key\": \"add\",\n      \"node\": \"layer2.0.add\""));
  EXPECT_THAT(first->manifest, HasSubstr("\"channels\": 128,\n      \"stride\": 8"));
  // No featx header in the generated code: it depends on LibTorch only.
  EXPECT_FALSE(absl::StrContains(first->source, "featx/") ||
               absl::StrContains(first->header, "featx/"));
}

TEST(GenerateCppExtractorTest, BadClassNameIsInvalidArgument) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/seed_cnn.pt");
  ASSERT_TRUE(model.ok());
  absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(
      *model, {.return_nodes = {"blocks.0"}, .class_name = "not-a class", .namespace_name = "n"});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("not-a class"));
}

}  // namespace
}  // namespace featx

// Models featx used to fail on (issue 7), from //fixtures:robustness_models:
// extractor values against torchvision's create_feature_extractor (with each
// returned value cloned when computed) or the model's own forward, computed
// in Python at build time.
namespace featx {
namespace {

std::map<std::string, at::Tensor> ReadRobustnessReference(const std::string& name) {
  std::ifstream in("fixtures/robustness/" + name + "_ref.pt", std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, at::Tensor> ref;
  for (const auto& kv : torch::jit::pickle_load(bytes).toGenericDict()) {
    ref[kv.key().toStringRef()] = kv.value().toTensor();
  }
  return ref;
}

// The model's input: one tensor, or a List[Tensor] from "input.0", "input.1", ...
c10::IValue RobustnessInput(const std::map<std::string, at::Tensor>& ref) {
  if (ref.count("input")) return ref.at("input");
  c10::List<at::Tensor> list;
  for (int i = 0; ref.count("input." + std::to_string(i)); ++i) {
    list.push_back(ref.at("input." + std::to_string(i)));
  }
  return list;
}

// Extracts `nodes` from `name` in both modes and compares each with the
// reference "<mode>:<reference key>" (the key is the node's name unless given).
void ExpectExtractedValuesMatch(const std::string& name,
                                const std::vector<std::pair<std::string, std::string>>& nodes,
                                const TraceOptions& options = {}) {
  SCOPED_TRACE(name);
  std::map<std::string, at::Tensor> ref = ReadRobustnessReference(name);
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/robustness/" + name + ".pt");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<std::string> return_nodes;
  for (const auto& [node, key] : nodes) return_nodes.push_back(node);
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*model, {.return_nodes = return_nodes, .trace_options = options});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  for (const char* mode : {"train", "eval"}) {
    extractor->train(std::string(mode) == "train");
    c10::IValue out;
    try {
      out = extractor->forward({RobustnessInput(ref)});
    } catch (const c10::Error& e) {
      FAIL() << mode << ": forward threw: " << e.what_without_backtrace();
    }
    c10::Dict<c10::IValue, c10::IValue> dict = out.toGenericDict();
    for (const auto& [node, key] : nodes) {
      std::string ref_key = absl::StrCat(mode, ":", key.empty() ? node : key);
      ASSERT_TRUE(ref.count(ref_key)) << ref_key;
      at::Tensor actual = dict.at(node).toTensor();
      at::Tensor expected = ref.at(ref_key);
      ASSERT_EQ(actual.sizes(), expected.sizes()) << ref_key;
      EXPECT_TRUE(actual.allclose(expected, 1e-5, 1e-5))
          << ref_key << ": max abs diff " << (actual - expected).abs().max().item<double>();
    }
  }
}

// aten::format(None) folds, and int("not a number"), which cannot be folded,
// stays a runtime node in a branch this input does not take.
TEST(RobustnessTest, FormatWithNoneGivesTheModelsValues) {
  ExpectExtractedValuesMatch("format_none", {{"mul", "output"}});
}

TEST(RobustnessTest, InterpolateWithScaleFactorGivesTorchvisionsValues) {
  ExpectExtractedValuesMatch("interpolates", {{"interpolate", ""}, {"up", ""}, {"add", ""}});
}

// LSTM, GRU and RNN leaves; their tuple outputs through getitem nodes,
// including the LSTM's (h, c) tuple taken apart again.
TEST(RobustnessTest, RecurrentLayersGiveTorchvisionsValues) {
  std::vector<std::pair<std::string, std::string>> nodes = {{"getitem", ""},   {"getitem_2", ""},
                                                            {"getitem_3", ""}, {"getitem_4", ""},
                                                            {"getitem_7", ""}, {"add_3", ""}};
  ExpectExtractedValuesMatch("recurrent", nodes);
  ExpectExtractedValuesMatch("recurrent", nodes, {.leaf_modules = {"LSTM", "GRU"}});
}

// with_bodies inlines the recurrent leaves for the C++ back end; their flat
// weight lists become the weights file's entries. (Compiled and run by hand
// on this model: equal to torchvision's values; not compiled here.)
TEST(RobustnessTest, RecurrentLayersGenerateCpp) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/robustness/recurrent.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(
      *model,
      {.return_nodes = {"getitem", "add_3"}, .class_name = "Recurrent", .namespace_name = "test"});
  ASSERT_TRUE(files.ok()) << files.status();
  for (const char* op : {"lstm_ops.h", "gru_ops.h", "rnn_relu_ops.h"}) {
    EXPECT_THAT(files->source, HasSubstr(op));
  }
  EXPECT_THAT(files->source, HasSubstr("get(\"lstm.weight_hh_l1\")"));
}

TEST(RobustnessTest, LstmInsideAModuleGivesTorchvisionsValues) {
  ExpectExtractedValuesMatch("wraps_encoder", {{"encoder.relu", ""}, {"mul", ""}});
  ExpectExtractedValuesMatch("wraps_encoder", {{"encoder", "encoder.relu"}, {"mul", ""}},
                             {.leaf_modules = {"Encoder"}});
}

TEST(RobustnessTest, AttributeAssignedInForwardGivesTorchvisionsValues) {
  ExpectExtractedValuesMatch("local_state", {{"block.lin", ""}, {"block.add", ""}, {"mul", ""}});
}

TEST(RobustnessTest, StateCarriedAcrossCallsIsUnimplementedNamingTheModule) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/robustness/carries_state.pt");
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*m, {});
  EXPECT_EQ(names.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(names.status().message()),
              HasSubstr("attribute 'calls' of module 'counter' (class Counter) at "
                        "robustness_models.py:"));
}

TEST(LoadOperatorLibraryTest, MissingFileIsNotFound) {
  absl::Status s = LoadOperatorLibrary("fixtures/robustness/no_such_library.so");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("no_such_library.so"));
}

TEST(LoadOperatorLibraryTest, NotALibraryIsInvalidArgument) {
  absl::Status s = LoadOperatorLibrary("fixtures/robustness/detector.pt");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("cannot load operator library"));
}

// One test, because loading a library cannot be undone: without torchvision's
// operators the model does not load, and the error quotes LibTorch's cause on
// one line; with them it loads, traces with its List[Tensor] input, and the
// extractor gives the model's values.
TEST(LoadOperatorLibraryTest, TorchvisionOperatorsLoadAModelThatCallsNms) {
  absl::StatusOr<torch::jit::Module> before = LoadModel("fixtures/robustness/detector.pt");
  EXPECT_EQ(before.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(before.status().message()),
              HasSubstr("Unknown builtin op: torchvision::nms"));
  EXPECT_THAT(std::string(before.status().message()), Not(HasSubstr("\n")));

  std::ifstream in("fixtures/robustness/torchvision_ops_library.txt");
  std::string library;
  std::getline(in, library);
  ASSERT_FALSE(library.empty());
  absl::Status loaded = LoadOperatorLibrary(library);
  ASSERT_TRUE(loaded.ok()) << loaded;
  ASSERT_TRUE(LoadOperatorLibrary(library).ok());  // again: harmless

  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/robustness/detector.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*model, {});
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(names->eval.front(), "images");
  EXPECT_THAT(names->eval, Contains("nms"));
  ExpectExtractedValuesMatch("detector", {{"add", "output"}});
}

}  // namespace
}  // namespace featx

namespace featx {
namespace {

using ::testing::Not;

// LibTorch's freeze + optimize_for_inference on the extractor: same outputs
// (within float rounding), and the BatchNorms are gone from the graph.
TEST(CreateFeatureExtractorTest, OptimizeForInferenceFoldsBatchNorm) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/resnet18_bn.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<torch::jit::Module> plain =
      CreateFeatureExtractor(*model, {.return_nodes = {"layer2"}});
  absl::StatusOr<torch::jit::Module> optimized =
      CreateFeatureExtractor(*model, {.return_nodes = {"layer2"}, .optimize_for_inference = true});
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(optimized.ok()) << optimized.status();
  plain->eval();
  std::ostringstream graph;
  graph << *optimized->get_method("forward").graph();
  EXPECT_THAT(graph.str(), Not(HasSubstr("aten::batch_norm")));
  torch::NoGradGuard no_grad;
  at::Tensor x = torch::randn({1, 3, 64, 64});
  at::Tensor want = plain->forward({x}).toGenericDict().at("layer2").toTensor();
  at::Tensor got = optimized->forward({x}).toGenericDict().at("layer2").toTensor();
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-4 * want.abs().max().item<double>());
}

c10::Dict<std::string, at::Tensor> WeightsOf(const CppExtractorFiles& files) {
  c10::Dict<std::string, at::Tensor> out;
  for (const auto& item :
       torch::jit::pickle_load(files.weights).toGenericDict().at("tensors").toGenericDict()) {
    out.insert(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

CppExtractorSpec ResNetSpec(CppOptimization optimize, Mode mode = Mode::kEval) {
  return {.return_nodes = {"layer1"},
          .mode = mode,
          .class_name = "ResNet18Features",
          .namespace_name = "vision",
          .model_file = "resnet18_bn.pt",
          .optimize = optimize};
}

TEST(GenerateCppExtractorTest, OptimizeNoneWritesTheModelsOwnWeights) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/resnet18_bn.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CppExtractorFiles> files =
      GenerateCppExtractor(*model, ResNetSpec(CppOptimization::kNone));
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_FALSE(absl::StrContains(files->source, "PrepackedConv2d"));
  EXPECT_THAT(files->source, HasSubstr("at::_ops::batch_norm::call("));
  c10::Dict<std::string, at::Tensor> weights = WeightsOf(*files);
  ASSERT_TRUE(weights.contains("layer1.0.conv1.weight"));
  EXPECT_TRUE(weights.at("layer1.0.conv1.weight")
                  .equal(model->attr("layer1")
                             .toModule()
                             .attr("0")
                             .toModule()
                             .attr("conv1")
                             .toModule()
                             .attr("weight")
                             .toTensor()));
}

TEST(GenerateCppExtractorTest, OptimizedWeightsAreFoldedInDouble) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/resnet18_bn.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CppExtractorFiles> files =
      GenerateCppExtractor(*model, ResNetSpec(CppOptimization::kInference));
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(files->source, HasSubstr("PrepackedConv2d("));
  EXPECT_THAT(files->source, HasSubstr("at::_ops::_add_relu__Tensor::call("));
  EXPECT_FALSE(absl::StrContains(files->source, "batch_norm::call("));
  c10::Dict<std::string, at::Tensor> weights = WeightsOf(*files);
  EXPECT_FALSE(weights.contains("layer1.0.bn1.running_var"));
  ASSERT_TRUE(weights.contains("layer1.0.conv1.weight@layer1.0.bn1"));
  ASSERT_TRUE(weights.contains("layer1.0.conv1.weight@layer1.0.bn1.bias"));
  torch::jit::Module block = model->attr("layer1").toModule().attr("0").toModule();
  auto attr = [&](const char* module, const char* name) {
    return block.attr(module).toModule().attr(name).toTensor().to(at::kDouble);
  };
  at::Tensor s = attr("bn1", "weight") / (attr("bn1", "running_var") + 1e-5).sqrt();
  at::Tensor w = attr("conv1", "weight") * s.reshape({-1, 1, 1, 1});
  at::Tensor b = -attr("bn1", "running_mean") * s + attr("bn1", "bias");
  EXPECT_TRUE(weights.at("layer1.0.conv1.weight@layer1.0.bn1").equal(w.to(at::kFloat)));
  EXPECT_TRUE(weights.at("layer1.0.conv1.weight@layer1.0.bn1.bias").equal(b.to(at::kFloat)));
}

TEST(GenerateCppExtractorTest, TrainModeIsAlwaysExact) {
  absl::StatusOr<torch::jit::Module> model = LoadModel("fixtures/resnet18_bn.pt");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CppExtractorFiles> files =
      GenerateCppExtractor(*model, ResNetSpec(CppOptimization::kInference, Mode::kTrain));
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_FALSE(absl::StrContains(files->source, "PrepackedConv2d"));
}

}  // namespace
}  // namespace featx
