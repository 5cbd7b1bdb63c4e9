// The extractor generated from featx's seed CNN (four ConvBlocks, each doubling
// 64 channels and halving the feature map) returns each block's output.

#include "seed_cnn_features.h"

#include <string>
#include <vector>

#include "ATen/ATen.h"
#include "c10/core/InferenceMode.h"
#include "codegen/runfiles.h"
#include "gtest/gtest.h"

namespace {

using Shape = std::vector<int64_t>;

consumer::SeedCnnFeatures LoadExtractor() {
  std::string weights =
      featx::FindRunfile("featx_consumer/seed_cnn_features.weights", /*argv0=*/nullptr);
  EXPECT_FALSE(weights.empty()) << "seed_cnn_features.weights is not a runfile";
  return consumer::SeedCnnFeatures::Load(weights);
}

TEST(SeedCnnFeaturesTest, FieldsHaveEachBlocksShape) {
  c10::InferenceMode inference;
  consumer::SeedCnnFeatures extractor = LoadExtractor();
  consumer::SeedCnnFeatures::Features out = extractor(at::zeros({1, 3, 32, 32}));
  EXPECT_EQ(out.block0.sizes().vec(), (Shape{1, 64, 16, 16}));
  EXPECT_EQ(out.block1.sizes().vec(), (Shape{1, 128, 8, 8}));
  EXPECT_EQ(out.block2.sizes().vec(), (Shape{1, 256, 4, 4}));
  EXPECT_EQ(out.block3.sizes().vec(), (Shape{1, 512, 2, 2}));
}

TEST(SeedCnnFeaturesTest, ToDictKeepsReturnNodesOrderAndKeys) {
  c10::InferenceMode inference;
  consumer::SeedCnnFeatures extractor = LoadExtractor();
  c10::Dict<std::string, at::Tensor> out = extractor(at::zeros({1, 3, 32, 32})).ToDict();
  std::vector<std::string> keys;
  std::vector<Shape> shapes;
  for (const auto& item : out) {
    keys.push_back(item.key());
    shapes.push_back(item.value().sizes().vec());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"block0", "block1", "block2", "block3"}));
  EXPECT_EQ(shapes,
            (std::vector<Shape>{{1, 64, 16, 16}, {1, 128, 8, 8}, {1, 256, 4, 4}, {1, 512, 2, 2}}));
}

}  // namespace
