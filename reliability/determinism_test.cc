// Issue 10, point 8, within one process: names, graph text, the TorchScript
// extractor's graph and saved archive, and every generated C++ file are the
// same run after run. (Across processes: cli_determinism_test.sh.)

#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "reliability/testing.h"
#include "torch/csrc/jit/api/module.h"

namespace featx::reliability {
namespace {

struct Case {
  std::string fixture;
  std::vector<std::string> nodes;
};

const std::vector<Case> kCases = {
    {"resnet18.pt", {"layer1.0.bn1", "layer2", "layer4:final"}},
    {"resnet18_bn.pt", {"layer1", "layer2.0.add", "layer4"}},
    {"mobilenet_v3_large.pt", {"features.6", "features.12"}},
};

TEST(DeterminismTest, NamesAndGraphTextRepeat) {
  for (const Case& c : kCases) {
    torch::jit::Module model = LoadFixture(c.fixture);
    torch::jit::Module again = LoadFixture(c.fixture);
    absl::StatusOr<NodeNames> first = GetGraphNodeNames(model, {});
    ASSERT_TRUE(first.ok()) << first.status();
    for (const torch::jit::Module* m : {&model, &model, &again}) {
      absl::StatusOr<NodeNames> names = GetGraphNodeNames(*m, {});
      ASSERT_TRUE(names.ok()) << names.status();
      EXPECT_EQ(names->train, first->train) << c.fixture;
      EXPECT_EQ(names->eval, first->eval) << c.fixture;
    }
    for (Mode mode : {Mode::kTrain, Mode::kEval}) {
      absl::StatusOr<std::string> text = GraphText(model, mode, {});
      ASSERT_TRUE(text.ok()) << text.status();
      absl::StatusOr<std::string> text2 = GraphText(model, mode, {});
      absl::StatusOr<std::string> text3 = GraphText(again, mode, {});
      ASSERT_TRUE(text2.ok() && text3.ok());
      EXPECT_EQ(*text2, *text) << c.fixture;
      EXPECT_EQ(*text3, *text) << c.fixture;
    }
  }
}

std::string Saved(const torch::jit::Module& m) {
  std::ostringstream out;
  m.save(out);
  return out.str();
}

// Extractors made from separately loaded copies of a model: the same graph
// and the same saved archive, byte for byte.
TEST(DeterminismTest, ExtractorGraphAndArchiveRepeat) {
  for (const Case& c : kCases) {
    // optimize_for_inference (freeze) on the BatchNorm model only: it is slow.
    for (bool optimize : {false, c.fixture == "resnet18_bn.pt"}) {
      std::string graph, archive;
      for (int run = 0; run < 2; ++run) {
        torch::jit::Module model = LoadFixture(c.fixture);
        model.eval();
        absl::StatusOr<torch::jit::Module> e = CreateFeatureExtractor(
            model, {.return_nodes = c.nodes, .optimize_for_inference = optimize});
        ASSERT_TRUE(e.ok()) << e.status();
        std::string g = e->get_method("forward").graph()->toString();
        std::string a = Saved(*e);
        if (run == 0) {
          graph = g;
          archive = a;
          continue;
        }
        EXPECT_EQ(g, graph) << c.fixture << " optimize=" << optimize << " run " << run;
        EXPECT_TRUE(a == archive) << c.fixture << " optimize=" << optimize << " run " << run
                                  << ": saved archives differ (" << a.size() << " vs "
                                  << archive.size() << " bytes)";
      }
    }
  }
}

// Extractors made again from the same model object: the same graph, except
// for the number LibTorch appends to a class name registered again in one
// compilation unit (`__torch__.featx.___torch_mangle_3.FeatureExtractor`;
// featx registers the extractor's classes in the model's unit, which keeps
// functions the extractor calls alive as long as the extractor).
TEST(DeterminismTest, ExtractorGraphRepeatsOnOneModel) {
  static const std::regex mangle("___torch_mangle_[0-9]+\\.");
  for (const Case& c : kCases) {
    torch::jit::Module model = LoadFixture(c.fixture);
    std::string first;
    for (int run = 0; run < 3; ++run) {
      absl::StatusOr<torch::jit::Module> e =
          CreateFeatureExtractor(model, {.return_nodes = c.nodes});
      ASSERT_TRUE(e.ok()) << e.status();
      std::string g = std::regex_replace(e->get_method("forward").graph()->toString(), mangle, "");
      if (run == 0) first = g;
      EXPECT_EQ(g, first) << c.fixture << " run " << run;
    }
  }
}

// Every generated file, byte for byte: the same model object again, and a
// separately loaded copy; plain, optimized, and train-mode code.
TEST(DeterminismTest, GeneratedFilesRepeat) {
  for (const Case& c : kCases) {
    if (c.fixture == "resnet18.pt") continue;  // resnet18_bn.pt is the same network
    torch::jit::Module model = LoadFixture(c.fixture);
    torch::jit::Module again = LoadFixture(c.fixture);
    for (auto [optimize, mode] : {std::pair{CppOptimization::kNone, Mode::kEval},
                                  std::pair{CppOptimization::kInference, Mode::kEval},
                                  std::pair{CppOptimization::kNone, Mode::kTrain}}) {
      {
        // Batch 2: train-mode BatchNorm needs more than one value per channel.
        CppExtractorSpec spec{.return_nodes = c.nodes,
                              .mode = mode,
                              .class_name = "TestExtractor",
                              .namespace_name = "test",
                              .model_file = c.fixture,
                              .input_shape = {2, 3, 64, 64},
                              .optimize = optimize};
        absl::StatusOr<CppExtractorFiles> first = GenerateCppExtractor(model, spec);
        ASSERT_TRUE(first.ok()) << first.status();
        for (const torch::jit::Module* m : {&model, &again}) {
          absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(*m, spec);
          ASSERT_TRUE(files.ok()) << files.status();
          std::string what = c.fixture + (optimize == CppOptimization::kNone ? " plain" : " opt") +
                             (mode == Mode::kTrain ? " train" : " eval");
          EXPECT_EQ(files->stem, first->stem) << what;
          EXPECT_TRUE(files->header == first->header) << what << ": header differs";
          EXPECT_TRUE(files->source == first->source) << what << ": source differs";
          EXPECT_TRUE(files->weights == first->weights) << what << ": weights differ";
          EXPECT_TRUE(files->manifest == first->manifest) << what << ": manifest differs";
        }
      }
    }
  }
}

}  // namespace
}  // namespace featx::reliability
