// Issue 10, point 5: extraction never changes the source model. For real
// torchvision models (resnet18 in train and eval mode, resnet18 with
// randomized BatchNorm statistics, mobilenet_v3_large), every parameter and
// buffer (value, dtype, shape, strides, requires_grad, TensorImpl and storage
// identity, version counter), every non-tensor attribute, every module's
// training flag and every method graph of the source model is compared before
// and after each API call, and after running the extractor it made (train mode
// updates BatchNorm running statistics: the extractor's own, never the
// model's).

#include <string>
#include <vector>

#include "ATen/ATen.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "reliability/testing.h"
#include "torch/csrc/jit/api/module.h"

namespace featx::reliability {
namespace {

// Fails the test, listing what changed, if `model` differs from `before`.
void ExpectUnchanged(const torch::jit::Module& model, const ModuleSnapshot& before,
                     const std::string& after_what) {
  std::vector<std::string> d = Differences(before, Snapshot(model));
  EXPECT_TRUE(d.empty()) << "after " << after_what << ":\n  " << absl::StrJoin(d, "\n  ");
}

// The extractor's own copy of `path` (a buffer), or an undefined tensor.
at::Tensor Buffer(const torch::jit::Module& m, const std::string& path) {
  for (const auto& b : m.named_buffers(/*recurse=*/true)) {
    if (b.name == path) return b.value;
  }
  return at::Tensor();
}

// CreateFeatureExtractor in the model's current mode, then the extractor run
// in train and in eval mode. If `bn_buffer` is given, the extractor's copy of
// it must change in train mode (so the test would see it if the copy were
// the model's tensor) while the model's stays as it was.
void CheckTorchScriptBackEnd(torch::jit::Module& model, const ExtractorSpec& spec,
                             const std::vector<int64_t>& shape, const std::string& bn_buffer) {
  ModuleSnapshot before = Snapshot(model);
  absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(model, spec);
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  ExpectUnchanged(model, before, "CreateFeatureExtractor");
  // (A frozen extractor has no training attribute: it is eval-only.)
  if (!spec.optimize_for_inference) {
    EXPECT_EQ(extractor->is_training(), model.is_training());
  }

  if (!bn_buffer.empty()) {
    at::Tensor own = Buffer(*extractor, bn_buffer);
    ASSERT_TRUE(own.defined()) << bn_buffer << " not in the extractor";
    at::Tensor start = own.clone();
    extractor->train();
    RunTorchScript(*extractor, Input(shape, 1));
    EXPECT_FALSE(own.equal(start)) << "train mode did not update the extractor's " << bn_buffer;
    ExpectUnchanged(model, before, "running the extractor in train mode");
  }
  extractor->eval();
  RunTorchScript(*extractor, Input(shape, 2));
  ExpectUnchanged(model, before, "running the extractor in eval mode");
}

void CheckCppBackEnd(torch::jit::Module& model, const std::vector<std::string>& nodes) {
  ModuleSnapshot before = Snapshot(model);
  struct Variant {
    Mode mode;
    CppOptimization optimize;
    const char* what;
  };
  for (const Variant& v :
       {Variant{Mode::kEval, CppOptimization::kNone, "eval, plain"},
        Variant{Mode::kEval, CppOptimization::kInference, "eval, optimized (BatchNorm folded)"},
        Variant{Mode::kTrain, CppOptimization::kNone, "train"}}) {
    CppExtractorSpec spec{.return_nodes = nodes,
                          .mode = v.mode,
                          .class_name = "TestExtractor",
                          .namespace_name = "test",
                          .model_file = "model.pt",
                          .input_shape = {1, 3, 64, 64},
                          .optimize = v.optimize};
    absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(model, spec);
    ASSERT_TRUE(files.ok()) << v.what << ": " << files.status();
    EXPECT_FALSE(files->weights.empty());
    ExpectUnchanged(model, before, std::string("GenerateCppExtractor, ") + v.what);
  }
}

TEST(NoMutationTest, ResNet18TrainModeTorchScript) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  model.train();
  CheckTorchScriptBackEnd(model, {.return_nodes = {"layer1.0.bn1", "layer2", "layer4"}},
                          {2, 3, 64, 64}, "bn1.running_mean");
}

TEST(NoMutationTest, ResNet18EvalModeTorchScript) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  model.eval();
  CheckTorchScriptBackEnd(model, {.return_nodes = {"layer1.0.bn1", "layer2", "layer4"}},
                          {2, 3, 64, 64}, "bn1.running_mean");
}

// Leaf modules are copied into the extractor whole (Module::clone).
TEST(NoMutationTest, ResNet18LeafModulesTorchScript) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  model.train();
  CheckTorchScriptBackEnd(
      model,
      {.return_nodes = {"layer1.0", "layer3"}, .trace_options = {.leaf_modules = {"BasicBlock"}}},
      {2, 3, 64, 64}, "layer1.0.bn1.running_mean");
}

// optimize_for_inference freezes and folds the extractor: never the model.
TEST(NoMutationTest, ResNet18BnOptimizedTorchScript) {
  torch::jit::Module model = LoadFixture("resnet18_bn.pt");
  model.eval();
  CheckTorchScriptBackEnd(
      model, {.return_nodes = {"layer1", "layer2.0.add", "layer4"}, .optimize_for_inference = true},
      {2, 3, 64, 64}, "");
}

TEST(NoMutationTest, MobileNetV3LargeTrainModeTorchScript) {
  torch::jit::Module model = LoadFixture("mobilenet_v3_large.pt");
  model.train();
  CheckTorchScriptBackEnd(model, {.return_nodes = {"features.6", "features.12"}}, {2, 3, 64, 64},
                          "features.0.1.running_mean");
}

// The C++ back end reads the weights (and, optimized, folds BatchNorm into
// copies of them): plain and optimized eval code, train code.
TEST(NoMutationTest, ResNet18BnCpp) {
  torch::jit::Module model = LoadFixture("resnet18_bn.pt");
  model.eval();
  CheckCppBackEnd(model, {"layer1", "layer2.0.add", "layer4"});
}

TEST(NoMutationTest, ResNet18TrainModeCpp) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  model.train();
  CheckCppBackEnd(model, {"layer1.0.bn1", "layer2", "layer4"});
}

TEST(NoMutationTest, MobileNetV3LargeCpp) {
  torch::jit::Module model = LoadFixture("mobilenet_v3_large.pt");
  model.train();
  CheckCppBackEnd(model, {"features.6", "features.12"});
}

// Naming, and the other entry points that read the model, on a model whose
// submodules are in different modes (train, with layer1 and one BatchNorm in
// eval): CheckExtractor runs the model in eval mode and must put back every
// submodule's own flag, not the root's.
TEST(NoMutationTest, MixedTrainingFlagsSurviveEveryEntryPoint) {
  torch::jit::Module model = LoadFixture("resnet18.pt");
  model.train();
  model.attr("layer1").toModule().eval();
  model.attr("layer3").toModule().attr("0").toModule().attr("bn2").toModule().eval();
  ModuleSnapshot before = Snapshot(model);
  ASSERT_FALSE(before.training.empty());

  absl::StatusOr<NodeNames> names = GetGraphNodeNames(model, {});
  ASSERT_TRUE(names.ok()) << names.status();
  ExpectUnchanged(model, before, "GetGraphNodeNames");

  absl::StatusOr<std::string> text = GraphText(model, Mode::kTrain, {});
  ASSERT_TRUE(text.ok()) << text.status();
  ExpectUnchanged(model, before, "GraphText");

  ExtractorSpec spec{.return_nodes = {"layer1.0.bn1", "layer2"}};
  absl::StatusOr<CheckReport> report = CheckExtractor(model, spec, {Input({1, 3, 64, 64}, 3)});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  ExpectUnchanged(model, before, "CheckExtractor");

  absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(model, spec);
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  ExpectUnchanged(model, before, "CreateFeatureExtractor");
}

}  // namespace
}  // namespace featx::reliability
