// featx::CheckExtractor (featx check) on real models and on the effects
// models, a deliberately wrong extractor that it must catch, and the
// extractor's parameter order.

#include <string>
#include <vector>

#include "ATen/ATen.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

torch::jit::Module Load(const std::string& path) {
  absl::StatusOr<torch::jit::Module> m = LoadModel(path);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : torch::jit::Module();
}

at::Tensor Randn(std::vector<int64_t> shape) {
  torch::manual_seed(0);
  return at::randn(shape);
}

std::string Describe(const CheckReport& r) {
  std::string s =
      absl::StrCat(r.forward.key, " abs=", r.forward.max_abs_diff, " ", r.forward.problem);
  for (const ValueCheck& c : r.forward_parts) {
    absl::StrAppend(&s, "\n", c.key, " abs=", c.max_abs_diff, " ", c.ok ? "ok" : "MISMATCH", " ",
                    c.problem);
  }
  for (const ValueCheck& c : r.outputs) {
    absl::StrAppend(&s, "\n", c.key, " abs=", c.max_abs_diff, " rel=", c.max_rel_diff, " ",
                    c.ok ? "ok" : "MISMATCH", " ", c.problem);
  }
  return s;
}

TEST(CheckExtractorTest, ResNet18InPlaceReluAfterBn1Agrees) {
  torch::jit::Module model = Load("fixtures/resnet18.pt");
  absl::StatusOr<CheckReport> r = CheckExtractor(
      model, {.return_nodes = {"layer1.0.bn1", "layer1.0.conv2"}}, {Randn({1, 3, 224, 224})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << Describe(*r);
  EXPECT_TRUE(r->forward.ok);
  ASSERT_EQ(r->outputs.size(), 2);
  EXPECT_EQ(r->outputs[0].key, "layer1.0.bn1");
  EXPECT_EQ(r->outputs[1].key, "layer1.0.conv2");
  EXPECT_LE(r->outputs[0].max_abs_diff, kCheckTolerance);
}

TEST(CheckExtractorTest, MobileNetV3Agrees) {
  torch::jit::Module model = Load("fixtures/mobilenet_v3_large.pt");
  absl::StatusOr<CheckReport> r =
      CheckExtractor(model, {.return_nodes = {"features.2", "features.7:mid", "features.16"}},
                     {Randn({1, 3, 224, 224})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << Describe(*r);
  ASSERT_EQ(r->outputs.size(), 3);
  EXPECT_EQ(r->outputs[1].key, "mid");
}

// What torchvision returns for layer1.0.bn1: the value after ReLU(inplace=True)
// overwrote it. An extractor that returns that under bn1's key must fail.
TEST(CheckExtractorTest, ValueOverwrittenInPlaceIsAMismatch) {
  torch::jit::Module model = Load("fixtures/resnet18.pt");
  absl::StatusOr<torch::jit::Module> wrong =
      CreateFeatureExtractor(model, {.return_nodes = {"layer1.0.relu:layer1.0.bn1"}});
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  absl::StatusOr<CheckReport> r =
      CheckExtractor(model, {.return_nodes = {"layer1.0.bn1"}}, *wrong, {Randn({1, 3, 224, 224})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok());
  EXPECT_TRUE(r->forward.ok);
  ASSERT_EQ(r->outputs.size(), 1);
  EXPECT_FALSE(r->outputs[0].ok);
  EXPECT_GT(r->outputs[0].max_abs_diff, 0.1);
}

TEST(CheckExtractorTest, MissingKeyIsAMismatch) {
  torch::jit::Module model = Load("fixtures/resnet18.pt");
  absl::StatusOr<torch::jit::Module> other =
      CreateFeatureExtractor(model, {.return_nodes = {"layer1.0.conv1"}});
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<CheckReport> r = CheckExtractor(model, {.return_nodes = {"layer1.0.conv2"}},
                                                 *other, {Randn({1, 3, 224, 224})});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 1);
  EXPECT_FALSE(r->outputs[0].ok);
  EXPECT_EQ(r->outputs[0].problem, "missing value");
}

TEST(CheckExtractorTest, WrongInputShapeIsInvalidArgument) {
  torch::jit::Module model = Load("fixtures/resnet18.pt");
  absl::StatusOr<CheckReport> r =
      CheckExtractor(model, {.return_nodes = {"layer1"}}, {Randn({1, 5})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("failed"));
}

// Every node of every effects model, all at once, on ones and on randn.
TEST(CheckExtractorTest, EffectsModelsAgreeOnEveryNode) {
  struct M {
    std::string name;
    std::vector<std::string> leaves;
  };
  for (const M& m : std::vector<M>{{"add_into_statement", {}},
                                   {"write_through_select", {}},
                                   {"write_through_view", {}},
                                   {"write_in_function", {}},
                                   {"write_in_leaf_body", {"AddOne"}},
                                   {"write_in_branch", {}},
                                   {"write_to_argument", {}},
                                   {"write_through_branch_result", {}}}) {
    torch::jit::Module model = Load(absl::StrCat("fixtures/effects/", m.name, ".pt"));
    TraceOptions options{.leaf_modules = m.leaves};
    absl::StatusOr<NodeNames> names = GetGraphNodeNames(model, options);
    ASSERT_TRUE(names.ok()) << names.status();
    std::vector<std::string> tensors;  // the branch model's condition is a bool
    for (const std::string& name : names->eval) {
      absl::StatusOr<torch::jit::Module> e =
          CreateFeatureExtractor(model, {.return_nodes = {name}, .trace_options = options});
      if (e.ok()) {
        tensors.push_back(name);
      } else {
        EXPECT_THAT(e.status().message(), HasSubstr("not a Tensor")) << e.status();
      }
    }
    EXPECT_GE(tensors.size(), 3) << m.name;
    for (const at::Tensor& input : {at::ones({2, 3}), Randn({2, 3})}) {
      absl::StatusOr<CheckReport> r =
          CheckExtractor(model, {.return_nodes = tensors, .trace_options = options}, {input});
      ASSERT_TRUE(r.ok()) << m.name << ": " << r.status();
      EXPECT_TRUE(r->ok()) << m.name << "\n" << Describe(*r);
      EXPECT_EQ(r->outputs.size(), tensors.size());
    }
  }
}

// A model returning Dict[str, Tensor] or a tuple: model.forward is compared
// per flattened key, as the extractor flattens ("forward.out", "forward.0").
torch::jit::Module Scripted(const std::string& forward) {
  torch::jit::Module m("__torch__.CheckTestModel");
  m.define(forward);
  m.eval();
  return m;
}

// A model returning a dict built in forward (the tracer's prim::DictConstruct).
constexpr char kDictForward[] = R"(
def forward(self, x):
    y = x.relu()
    return {"out": y * 2.0, "aux": y.sigmoid()}
)";

TEST(CheckExtractorTest, DictReturningModelIsComparedPerKey) {
  torch::jit::Module model = Scripted(kDictForward);
  absl::StatusOr<CheckReport> r =
      CheckExtractor(model, {.return_nodes = {"relu", "sigmoid"}}, {Randn({2, 3})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << Describe(*r);
  ASSERT_EQ(r->forward_parts.size(), 2);
  EXPECT_EQ(r->forward_parts[0].key, "forward.out");
  EXPECT_EQ(r->forward_parts[1].key, "forward.aux");
  EXPECT_EQ(r->forward.key, "forward");
  ASSERT_EQ(r->outputs.size(), 2);
  EXPECT_EQ(r->outputs[0].key, "relu");
}

// A wrong extractor is caught on a dict-returning model too: the relu's
// value returned as the sigmoid's.
TEST(CheckExtractorTest, DictReturningModelWrongExtractorIsAMismatch) {
  torch::jit::Module model = Scripted(kDictForward);
  absl::StatusOr<torch::jit::Module> wrong =
      CreateFeatureExtractor(model, {.return_nodes = {"relu:sigmoid"}});
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  absl::StatusOr<CheckReport> r =
      CheckExtractor(model, {.return_nodes = {"sigmoid"}}, *wrong, {Randn({2, 3})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->forward.ok) << Describe(*r);
  EXPECT_FALSE(r->ok());
}

TEST(CheckExtractorTest, TupleReturningModelIsComparedPerIndex) {
  torch::jit::Module model = Scripted(R"(
def forward(self, x):
    return x.relu(), x.sigmoid(), x + 1.0
)");
  absl::StatusOr<CheckReport> r =
      CheckExtractor(model, {.return_nodes = {"sigmoid"}}, {Randn({2, 3})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << Describe(*r);
  ASSERT_EQ(r->forward_parts.size(), 3);
  EXPECT_EQ(r->forward_parts[0].key, "forward.0");
  EXPECT_EQ(r->forward_parts[2].key, "forward.2");
}

// Selected nodes that are not tensors: torch.chunk's tuple and a list of
// tensors (tuples), a GRU leaf's (output, h) tuple (recurrent).
TEST(CheckExtractorTest, TupleAndListNodesAreComparedPerIndex) {
  torch::jit::Module tuples = Load("fixtures/codegen/tuples.pt");
  absl::StatusOr<CheckReport> r =
      CheckExtractor(tuples, {.return_nodes = {"chunk", "cat"}}, {Randn({1, 3, 8, 8})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << Describe(*r);
  ASSERT_EQ(r->outputs.size(), 3);
  EXPECT_EQ(r->outputs[0].key, "chunk.0");
  EXPECT_EQ(r->outputs[1].key, "chunk.1");
  EXPECT_EQ(r->outputs[2].key, "cat");

  torch::jit::Module recurrent = Load("fixtures/robustness/recurrent.pt");
  r = CheckExtractor(
      recurrent,
      {.return_nodes = {"gru", "getitem_2"}, .trace_options = {.leaf_modules = {"LSTM", "GRU"}}},
      {Randn({2, 5, 4})});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << Describe(*r);
  ASSERT_EQ(r->outputs.size(), 3);
  EXPECT_EQ(r->outputs[0].key, "gru.0");
  EXPECT_EQ(r->outputs[1].key, "gru.1");
}

TEST(ExtractorLayoutTest, ParametersKeepTheModelsOrder) {
  torch::jit::Module model = Load("fixtures/resnet18.pt");
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(model, {.return_nodes = {"layer2"}});
  ASSERT_TRUE(extractor.ok()) << extractor.status();
  std::vector<std::string> got, want;
  for (const auto& p : extractor->named_parameters()) got.push_back(p.name);
  std::vector<std::string> kept(got.begin(), got.end());
  for (const auto& p : model.named_parameters()) {
    if (std::find(kept.begin(), kept.end(), p.name) != kept.end()) want.push_back(p.name);
  }
  EXPECT_EQ(got, want);
  ASSERT_GE(got.size(), 3);
  EXPECT_THAT(std::vector<std::string>(got.begin(), got.begin() + 3),
              ElementsAre("conv1.weight", "bn1.weight", "bn1.bias"));
  EXPECT_EQ(got.back(), "layer2.1.bn2.bias");
  for (const std::string& name : got) {
    EXPECT_FALSE(absl::StartsWith(name, "layer3")) << name;
    EXPECT_FALSE(absl::StartsWith(name, "fc")) << name;
  }
  std::vector<std::string> buffers, want_buffers;
  for (const auto& b : extractor->named_buffers()) buffers.push_back(b.name);
  for (const auto& b : model.named_buffers()) {
    if (std::find(buffers.begin(), buffers.end(), b.name) != buffers.end()) {
      want_buffers.push_back(b.name);
    }
  }
  EXPECT_EQ(buffers, want_buffers);
  EXPECT_FALSE(buffers.empty());
}

}  // namespace
}  // namespace featx
