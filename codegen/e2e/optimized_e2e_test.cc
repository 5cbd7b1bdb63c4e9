// Optimized generated C++ (BatchNorm folded, ReLU fused, prepacked
// channels_last convolutions), built by cc_feature_extractor with its default
// optimize = True, against the TorchScript extractor of the same model and
// return nodes: equal within 1e-4 of each feature's magnitude, with the same
// keys, shapes and (unless channels_last_outputs) NCHW-contiguous outputs.

#include <string>
#include <vector>

#include "codegen/e2e/opt_chunk_in_place_features.h"
#include "codegen/e2e/opt_efficientnet_b0_features.h"
#include "codegen/e2e/opt_mobilenet_v3_large_features.h"
#include "codegen/e2e/opt_resnet18_cl_features.h"
#include "codegen/e2e/opt_resnet18_features.h"
#include "codegen/e2e/opt_resnet18_returned_features.h"
#include "codegen/e2e/opt_seed_cnn_features.h"
#include "codegen/e2e/opt_swin_t_features.h"
#include "codegen/e2e/opt_vit_b_16_features.h"
#include "codegen/runfiles.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace {

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

enum class Layout { kNchw, kChannelsLast };

// max |got - want| <= 1e-4 * max |want|, per key, same keys in the same order.
void ExpectClose(const c10::Dict<std::string, at::Tensor>& actual,
                 const c10::Dict<std::string, at::Tensor>& expected, Layout layout) {
  ASSERT_EQ(actual.size(), expected.size());
  auto a = actual.begin();
  for (auto e = expected.begin(); e != expected.end(); ++e, ++a) {
    ASSERT_EQ(a->key(), e->key());
    const at::Tensor& got = a->value();
    const at::Tensor& want = e->value();
    ASSERT_EQ(got.sizes(), want.sizes()) << e->key();
    double scale = want.abs().max().item<double>();
    double diff = (got - want).abs().max().item<double>();
    EXPECT_LE(diff, 1e-4 * scale) << e->key() << ": max abs diff " << diff << " at scale " << scale;
    EXPECT_GT(scale, 0) << e->key();
    if (got.dim() == 4 && got.size(1) > 1 && got.size(2) * got.size(3) > 1) {
      if (layout == Layout::kNchw) {
        EXPECT_TRUE(got.is_contiguous()) << e->key();
      } else {
        EXPECT_TRUE(got.is_contiguous(at::MemoryFormat::ChannelsLast)) << e->key();
      }
    }
  }
}

// Runs the generated extractor on several input shapes, in turn and again,
// so that prepacked contexts made for one shape are not used for another.
template <typename Extractor>
void Check(const std::string& stem, const std::string& model, const std::vector<std::string>& nodes,
           const std::vector<std::vector<int64_t>>& shapes, Layout layout = Layout::kNchw) {
  Extractor generated = Extractor::Load(Weights(stem));
  torch::manual_seed(1);
  for (int round = 0; round < 2; ++round) {
    for (const std::vector<int64_t>& shape : shapes) {
      SCOPED_TRACE(c10::str(at::IntArrayRef(shape)));
      at::Tensor x = torch::randn(shape);
      ExpectClose(generated(x).ToDict(), Reference(model, nodes, x), layout);
    }
  }
}

TEST(OptimizedExtractorTest, SeedCnn) {
  Check<e2e::OptSeedCnnFeatures>("opt_seed_cnn_features", "seed_cnn.pt",
                                 {"blocks.0", "blocks.1", "blocks.2", "blocks.3"},
                                 {{1, 3, 32, 32}, {4, 3, 32, 32}, {1, 3, 48, 40}});
}

TEST(OptimizedExtractorTest, ResNet18WithRandomBatchNorm) {
  Check<e2e::OptResNet18Features>("opt_resnet18_features", "resnet18_bn.pt",
                                  {"layer1", "layer2.0.add", "layer4"},
                                  {{1, 3, 224, 224}, {2, 3, 96, 128}});
}

TEST(OptimizedExtractorTest, ReturnedPreActivationsAreNotFolded) {
  Check<e2e::OptResNet18ReturnedFeatures>(
      "opt_resnet18_returned_features", "resnet18_bn.pt",
      {"layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer2"}, {{1, 3, 64, 64}});
  // bn1 is returned before the in-place ReLU: it keeps its negative values.
  e2e::OptResNet18ReturnedFeatures generated =
      e2e::OptResNet18ReturnedFeatures::Load(Weights("opt_resnet18_returned_features"));
  e2e::OptResNet18ReturnedFeatures::Features f = generated(torch::randn({1, 3, 64, 64}));
  EXPECT_LT(f.layer1_0_bn1.min().item<double>(), 0);
  EXPECT_GE(f.layer1_0_relu.min().item<double>(), 0);
}

TEST(OptimizedExtractorTest, ChannelsLastOutputs) {
  Check<e2e::OptResNet18ClFeatures>("opt_resnet18_cl_features", "resnet18_bn.pt",
                                    {"layer1", "layer3"}, {{1, 3, 224, 224}},
                                    Layout::kChannelsLast);
}

TEST(OptimizedExtractorTest, MobileNetV3LargeDepthwiseAndHardswish) {
  Check<e2e::OptMobileNetV3LargeFeatures>("opt_mobilenet_v3_large_features",
                                          "mobilenet_v3_large_bn.pt", {"features.6", "features.12"},
                                          {{1, 3, 224, 224}, {2, 3, 160, 160}});
}

TEST(OptimizedExtractorTest, EfficientNetB0) {
  Check<e2e::OptEfficientNetB0Features>("opt_efficientnet_b0_features", "efficientnet_b0_bn.pt",
                                        {"features.3", "features.5.2.add"}, {{1, 3, 224, 224}});
}

TEST(OptimizedExtractorTest, SwinTPatchEmbeddingIntoPermute) {
  Check<e2e::OptSwinTFeatures>("opt_swin_t_features", "swin_t.pt", {"features.3"},
                               {{1, 3, 224, 224}});
}

TEST(OptimizedExtractorTest, VitB16PatchEmbeddingIntoReshape) {
  Check<e2e::OptVitB16Features>("opt_vit_b_16_features", "vit_b_16.pt",
                                {"encoder.layers.encoder_layer_1"}, {{1, 3, 224, 224}});
}

TEST(OptimizedExtractorTest, ChunkWrittenInPlace) {
  Check<e2e::OptChunkFeatures>("opt_chunk_in_place_features", "tracer/chunk_in_place.pt",
                               {"conv", "add"}, {{1, 3, 8, 8}});
}

}  // namespace
