// Generated C++ extractors, built by cc_feature_extractor, against the
// TorchScript extractor of the same model and return nodes.

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "codegen/e2e/append_in_branch_features.h"
#include "codegen/e2e/boxed_features.h"
#include "codegen/e2e/carried_shape_features.h"
#include "codegen/e2e/chunk_in_place_features.h"
#include "codegen/e2e/data_dependent_loop_features.h"
#include "codegen/e2e/efficientnet_b0_features.h"
#include "codegen/e2e/fpn_features.h"
#include "codegen/e2e/frcnn_backbone_features.h"
#include "codegen/e2e/hostile_names_features.h"
#include "codegen/e2e/input_named_features_features.h"
#include "codegen/e2e/lraspp_features.h"
#include "codegen/e2e/mobilenet_v3_large_features.h"
#include "codegen/e2e/negative_slice_features.h"
#include "codegen/e2e/resnet18_features.h"
#include "codegen/e2e/scalars_features.h"
#include "codegen/e2e/seed_cnn_features.h"
#include "codegen/e2e/seg_dict_features.h"
#include "codegen/e2e/shadowed_weight_features.h"
#include "codegen/e2e/swin_t_features.h"
#include "codegen/e2e/tuples_features.h"
#include "codegen/e2e/vit_b_16_features.h"
#include "codegen/runfiles.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace {

using ::testing::HasSubstr;

std::string Weights(const std::string& stem) {
  std::string path = featx::FindRunfile("featx/codegen/e2e/" + stem + ".weights", nullptr);
  EXPECT_FALSE(path.empty()) << stem;
  return path;
}

// The TorchScript extractor's outputs, in eval mode.
c10::Dict<std::string, at::Tensor> Reference(const std::string& model,
                                             const std::vector<std::string>& nodes,
                                             const at::Tensor& x) {
  absl::StatusOr<torch::jit::Module> m = featx::LoadModel("fixtures/" + model);
  EXPECT_TRUE(m.ok()) << m.status();
  absl::StatusOr<torch::jit::Module> extractor =
      featx::CreateFeatureExtractor(*m, {.return_nodes = nodes});
  EXPECT_TRUE(extractor.ok()) << extractor.status();
  extractor->eval();
  torch::NoGradGuard no_grad;
  c10::Dict<std::string, at::Tensor> out;
  for (const auto& item : extractor->forward({x}).toGenericDict()) {
    out.insert(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

// allclose(1e-5, 1e-5), also relative to the reference's magnitude (deep
// random-weight features can be tiny), with the same keys in the same order.
void ExpectSame(const c10::Dict<std::string, at::Tensor>& actual,
                const c10::Dict<std::string, at::Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  auto a = actual.begin();
  for (auto e = expected.begin(); e != expected.end(); ++e, ++a) {
    ASSERT_EQ(a->key(), e->key());
    const at::Tensor& got = a->value();
    const at::Tensor& want = e->value();
    ASSERT_EQ(got.sizes(), want.sizes()) << e->key();
    double scale = want.abs().max().item<double>();
    double diff = (got - want).abs().max().item<double>();
    EXPECT_TRUE(got.allclose(want, 1e-5, 1e-5)) << e->key() << " max abs diff " << diff;
    if (scale > 0) {
      EXPECT_TRUE((got / scale).allclose(want / scale, 1e-5, 1e-5))
          << e->key() << " max abs diff " << diff << " at scale " << scale;
    }
  }
}

template <typename Extractor>
void Check(const std::string& stem, const std::string& model, const std::vector<std::string>& nodes,
           std::vector<int64_t> shape) {
  Extractor generated = Extractor::Load(Weights(stem));
  torch::manual_seed(1);
  at::Tensor x = torch::randn(shape);
  ExpectSame(generated(x).ToDict(), Reference(model, nodes, x));
}

TEST(GeneratedExtractorTest, SeedCnn) {
  Check<e2e::SeedCnnFeatures>("seed_cnn_features", "seed_cnn.pt",
                              {"blocks.0", "blocks.1", "blocks.2", "blocks.3"}, {1, 3, 32, 32});
}

TEST(GeneratedExtractorTest, ResNet18) {
  Check<e2e::ResNet18Features>("resnet18_features", "resnet18.pt",
                               {"layer1", "layer2.0.add", "layer4"}, {1, 3, 224, 224});
}

TEST(GeneratedExtractorTest, MobileNetV3Large) {
  Check<e2e::MobileNetV3LargeFeatures>("mobilenet_v3_large_features", "mobilenet_v3_large.pt",
                                       {"features.6", "features.12"}, {1, 3, 224, 224});
}

TEST(GeneratedExtractorTest, EfficientNetB0) {
  Check<e2e::EfficientNetB0Features>("efficientnet_b0_features", "efficientnet_b0.pt",
                                     {"features.3", "features.5.2.add"}, {1, 3, 224, 224});
}

TEST(GeneratedExtractorTest, SwinT) {
  Check<e2e::SwinTFeatures>("swin_t_features", "swin_t.pt", {"features.3", "features.5.1.add"},
                            {1, 3, 224, 224});
}

TEST(GeneratedExtractorTest, VitB16) {
  Check<e2e::VitB16Features>("vit_b_16_features", "vit_b_16.pt",
                             {"encoder.layers.encoder_layer_5", "encoder.ln"}, {1, 3, 224, 224});
}

// Builtins from the lowering table: dicts, numel, max/min, floor, int().
TEST(GeneratedExtractorTest, SegmentationDictsAndUpsample) {
  Check<e2e::SegDictFeatures>("seg_dict_features", "codegen/seg_dict.pt",
                              {"head", "interpolate", "upsample_nearest2d", "add"}, {1, 3, 32, 32});
}

TEST(GeneratedExtractorTest, ScalarBuiltins) {
  Check<e2e::ScalarsFeatures>("scalars_features", "codegen/scalars.pt", {"add_3", "conv"},
                              {2, 3, 20, 12});
}

// aten::log.float and aten::round.float have no typed form: boxed calls
// through the JIT registry.
TEST(GeneratedExtractorTest, BoxedFallback) {
  Check<e2e::BoxedFeatures>("boxed_features", "codegen/boxed.pt", {"add_2"}, {1, 3, 16, 16});
}

// A List[Tensor] return node comes back as "chunk.0", "chunk.1".
TEST(GeneratedExtractorTest, ListReturnNode) {
  Check<e2e::TuplesFeatures>("tuples_features", "codegen/tuples.pt", {"chunk", "cat"},
                             {1, 3, 8, 8});
  e2e::TuplesFeatures generated = e2e::TuplesFeatures::Load(Weights("tuples_features"));
  c10::Dict<std::string, at::Tensor> out = generated(torch::randn({1, 3, 8, 8})).ToDict();
  EXPECT_TRUE(out.contains("chunk.0"));
  EXPECT_TRUE(out.contains("chunk.1"));
  EXPECT_FALSE(out.contains("chunk.2"));
}

// torchvision's FeaturePyramidNetwork, a leaf returning Dict[str, Tensor]:
// both back ends return its levels as "fpn.p1", "fpn.p2", equal to the
// values Python computed (a forward hook, cloned).
TEST(GeneratedExtractorTest, DictReturnNodeMatchesPython) {
  Check<e2e::FpnFeatures>("fpn_features", "codegen/fpn.pt", {"fpn", "add"}, {1, 3, 32, 32});
  torch::jit::Module holder = torch::jit::load("fixtures/codegen/fpn_reference.pt");
  c10::List<c10::IValue> names = holder.attr("names").toList();
  c10::Dict<std::string, at::Tensor> python;
  at::Tensor input;
  for (size_t i = 0; i < names.size(); ++i) {
    at::Tensor t = holder.attr("t" + std::to_string(i)).toTensor();
    if (names.get(i).toStringRef() == "input") {
      input = t;
    } else {
      python.insert(names.get(i).toStringRef(), t);
    }
  }
  ASSERT_TRUE(input.defined());
  ASSERT_EQ(python.size(), 2u);
  e2e::FpnFeatures generated = e2e::FpnFeatures::Load(Weights("fpn_features"));
  c10::Dict<std::string, at::Tensor> got = generated(input).ToDict();
  c10::Dict<std::string, at::Tensor> torchscript = Reference("codegen/fpn.pt", {"fpn"}, input);
  for (const auto& item : python) {
    ASSERT_TRUE(got.contains(item.key())) << item.key();
    ASSERT_TRUE(torchscript.contains(item.key())) << item.key();
    EXPECT_TRUE(got.at(item.key()).allclose(item.value(), 1e-5, 1e-5)) << item.key();
    EXPECT_TRUE(torchscript.at(item.key()).allclose(item.value(), 1e-5, 1e-5)) << item.key();
  }
}

// Real torchvision models that failed to generate before: a segmentation
// model's result dict (aten::dict, interpolate), and a detection backbone's
// FPN output (a Dict[str, Tensor] return node).
TEST(GeneratedExtractorTest, LrasppMobileNetV3Large) {
  Check<e2e::LrasppFeatures>("lraspp_features", "codegen/lraspp_mobilenet_v3_large.pt",
                             {"classifier", "interpolate"}, {1, 3, 64, 64});
}

TEST(GeneratedExtractorTest, FasterRcnnBackboneFpn) {
  Check<e2e::FrcnnBackboneFeatures>("frcnn_backbone_features",
                                    "codegen/fasterrcnn_mobilenet_v3_large_fpn_backbone.pt",
                                    {"fpn", "body.16"}, {1, 3, 64, 64});
}

TEST(GeneratedExtractorTest, HostileNamesCompileAndRun) {
  std::vector<std::string> nodes = {"blocks.0bad:0 key", "blocks.we-ird:we-ird",
                                    "blocks.we_ird:we_ird", "blocks.a*/b:a*/b \"q\" \\",
                                    "blocks.auto:\u00fcn\u00efcode"};
  Check<e2e::HostileFeatures>("hostile_names_features", "tracer/hostile_names.pt", nodes,
                              {1, 3, 8, 8});
  // The keys come back exactly; the fields are sanitized identifiers.
  e2e::HostileFeatures generated = e2e::HostileFeatures::Load(Weights("hostile_names_features"));
  e2e::HostileFeatures::Features f = generated(torch::randn({1, 3, 8, 8}));
  EXPECT_TRUE(f.v0_key.defined());
  EXPECT_TRUE(f.we_ird.defined());
  EXPECT_TRUE(f.we_ird_2.defined());
  EXPECT_TRUE(f.ToDict().contains("a*/b \"q\" \\"));
  EXPECT_TRUE(f.ToDict().contains("\u00fcn\u00efcode"));
}

// A loop only the input decides; the reference is the model's own forward, at
// several trip counts.
TEST(GeneratedExtractorTest, DataDependentLoop) {
  e2e::LoopFeatures generated = e2e::LoopFeatures::Load(Weights("data_dependent_loop_features"));
  torch::jit::Module model = torch::jit::load("fixtures/tracer/data_dependent_loop.pt");
  for (int64_t batch : {1, 3, 5}) {
    at::Tensor x = torch::randn({batch, 4});
    c10::Dict<std::string, at::Tensor> expected;
    expected.insert("relu", model.forward({x}).toTensor());
    ExpectSame(generated(x).ToDict(), expected);
  }
}

// Models whose requested node is their output: the reference is the model's
// own forward.
template <typename Extractor>
void CheckAgainstForward(const std::string& stem, const std::string& model, const std::string& key,
                         const std::vector<at::Tensor>& inputs) {
  Extractor generated = Extractor::Load(Weights(stem));
  torch::jit::Module m = torch::jit::load("fixtures/tracer/" + model);
  for (const at::Tensor& x : inputs) {
    c10::Dict<std::string, at::Tensor> expected;
    expected.insert(key, m.forward({x}).toTensor());
    c10::Dict<std::string, at::Tensor> got = generated(x).ToDict();
    c10::Dict<std::string, at::Tensor> only;
    only.insert(key, got.at(key));
    ExpectSame(only, expected);
  }
}

TEST(GeneratedRegressionTest, AppendInsideDataDependentBranch) {
  CheckAgainstForward<e2e::AppendFeatures>("append_in_branch_features", "append_in_branch.pt",
                                           "mul", {torch::ones({2}), -torch::ones({2})});
}

TEST(GeneratedRegressionTest, WriteThroughChunkViewDoesNotCorruptOutput) {
  e2e::ChunkFeatures generated = e2e::ChunkFeatures::Load(Weights("chunk_in_place_features"));
  torch::jit::Module m = torch::jit::load("fixtures/tracer/chunk_in_place.pt");
  torch::NoGradGuard no_grad;  // the model writes into a chunk view, which autograd forbids
  at::Tensor x = torch::randn({1, 3, 2, 2});
  e2e::ChunkFeatures::Features f = generated(x);
  EXPECT_TRUE(f.conv.allclose(m.attr("conv").toModule().forward({x}).toTensor()));
  EXPECT_TRUE(f.add.allclose(m.forward({x}).toTensor()));
}

TEST(GeneratedRegressionTest, NodeNamedLikeAWeightMember) {
  CheckAgainstForward<e2e::ShadowFeatures>("shadowed_weight_features", "shadowed_weight.pt", "fc",
                                           {torch::randn({2, 4})});
}

TEST(GeneratedRegressionTest, NegativeListSliceStep) {
  CheckAgainstForward<e2e::SliceFeatures>("negative_slice_features", "negative_slice.pt", "mul",
                                          {torch::randn({2, 3, 4})});
}

TEST(GeneratedRegressionTest, LiteralListCarriedThroughALoop) {
  CheckAgainstForward<e2e::CarriedFeatures>("carried_shape_features", "carried_shape.pt", "add",
                                            {torch::randn({2, 3}), torch::randn({3, 2})});
}

TEST(GeneratedRegressionTest, InputNamedFeatures) {
  CheckAgainstForward<e2e::InputFeatures>("input_named_features_features",
                                          "input_named_features.pt", "relu", {torch::randn({3})});
}

// ---- the weights file

std::string Bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string LoadError(const std::function<void()>& load) {
  try {
    load();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(WeightsFileTest, MissingFileThrows) {
  EXPECT_THAT(LoadError([] { e2e::SeedCnnFeatures::Load("/nonexistent/x.weights"); }),
              HasSubstr("cannot open weights file '/nonexistent/x.weights'"));
}

TEST(WeightsFileTest, TruncatedFileThrows) {
  std::string bytes = Bytes(Weights("seed_cnn_features"));
  std::string path = ::testing::TempDir() + "/truncated.weights";
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THAT(LoadError([&] { e2e::SeedCnnFeatures::Load(path); }), HasSubstr("is not readable"));
}

TEST(WeightsFileTest, OtherModelsWeightsAreRejected) {
  std::string resnet = Weights("resnet18_features");
  EXPECT_THAT(LoadError([&] { e2e::SeedCnnFeatures::Load(resnet); }),
              HasSubstr("fingerprint mismatch"));
}

TEST(WeightsFileTest, PythonCanReadItAsAPlainDict) {
  // LibTorch's own serialization: the file is a zip archive, as torch.save writes.
  std::string bytes = Bytes(Weights("seed_cnn_features"));
  ASSERT_GE(bytes.size(), 4);
  EXPECT_EQ(bytes.substr(0, 2), "PK");
  c10::IValue file = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  c10::impl::GenericDict dict = file.toGenericDict();
  EXPECT_EQ(dict.at("format_version").toInt(), 1);
  // Pruned: only blocks.0-3's convolutions, no classifier.
  c10::impl::GenericDict tensors = dict.at("tensors").toGenericDict();
  EXPECT_TRUE(tensors.contains("blocks.3.convs.2.0.weight"));
  EXPECT_FALSE(tensors.contains("cls.weight"));
}

}  // namespace
