#include "graph/pass_pipeline.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kText[] = R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
output(%1)
)";

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// Appends aten::neg of the current result and returns it.
class NegatePass : public GraphPass {
 public:
  absl::string_view name() const override { return "negate"; }
  absl::StatusOr<bool> Run(Graph& graph) override {
    ++runs_;
    Node* out = graph.output();
    Node* neg = graph.InsertBefore(out, {.op = OpCode::kCallFunction,
                                         .target = "aten::neg",
                                         .args = out->args(),
                                         .type = "Tensor"});
    graph.SetArgs(out, {Argument::NodeRef(neg)});
    return true;
  }
  int runs() const { return runs_; }

 private:
  int runs_ = 0;
};

class NoOpPass : public GraphPass {
 public:
  absl::string_view name() const override { return "no-op"; }
  absl::StatusOr<bool> Run(Graph&) override { return false; }
};

class FailingPass : public GraphPass {
 public:
  absl::string_view name() const override { return "fail"; }
  absl::StatusOr<bool> Run(Graph&) override { return absl::NotFoundError("no such thing"); }
};

// Breaks an invariant: a node after the output node.
class BreakingPass : public GraphPass {
 public:
  absl::string_view name() const override { return "break"; }
  absl::StatusOr<bool> Run(Graph& graph) override {
    graph.Append({.op = OpCode::kCallFunction,
                  .target = "aten::relu",
                  .args = {Argument::NodeRef(graph.nodes()[0].get())},
                  .type = "Tensor"});
    return true;
  }
};

TEST(PassPipelineTest, RunsPassesInOrderAndObserverSeesTheGraphAfterEach) {
  std::unique_ptr<Graph> g = Parse(kText);
  PassPipeline pipeline("test");
  NegatePass& first = pipeline.AddPass(std::make_unique<NegatePass>());
  pipeline.AddPass(std::make_unique<NoOpPass>());
  std::vector<std::string> seen;
  pipeline.set_observer([&](const GraphPass& pass, const Graph& graph, bool changed) {
    seen.push_back(absl::StrCat(pass.name(), changed ? " changed " : " same ", graph.size()));
  });
  EXPECT_EQ(pipeline.name(), "test");
  EXPECT_THAT(pipeline.PassNames(), ElementsAre("negate", "no-op"));
  absl::StatusOr<bool> changed = pipeline.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(first.runs(), 1);
  EXPECT_THAT(seen, ElementsAre("negate changed 4", "no-op same 4"));
  EXPECT_EQ(PrintGraph(*g), R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::neg(%1) : Tensor
output(%2)
)");
}

TEST(PassPipelineTest, UnchangedWhenNoPassChangesTheGraph) {
  std::unique_ptr<Graph> g = Parse(kText);
  PassPipeline pipeline("test");
  pipeline.AddPass(std::make_unique<NoOpPass>());
  absl::StatusOr<bool> changed = pipeline.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
}

TEST(PassPipelineTest, StopsAtTheFirstErrorAndReturnsItUnchanged) {
  std::unique_ptr<Graph> g = Parse(kText);
  PassPipeline pipeline("test");
  pipeline.AddPass(std::make_unique<FailingPass>());
  NegatePass& after = pipeline.AddPass(std::make_unique<NegatePass>());
  absl::StatusOr<bool> changed = pipeline.Run(*g);
  EXPECT_EQ(changed.status(), absl::NotFoundError("no such thing"));
  EXPECT_EQ(after.runs(), 0);
}

TEST(PassPipelineTest, VerificationNamesThePassThatBrokeTheGraph) {
  std::unique_ptr<Graph> g = Parse(kText);
  PassPipeline pipeline("test");
  pipeline.AddPass(std::make_unique<NegatePass>());
  pipeline.AddPass(std::make_unique<BreakingPass>());
  NegatePass& after = pipeline.AddPass(std::make_unique<NegatePass>());
  absl::StatusOr<bool> changed = pipeline.Run(*g);
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(changed.status().message()),
              HasSubstr("pass 'break' of pipeline 'test' left an invalid graph: "));
  EXPECT_EQ(after.runs(), 0);
}

TEST(PassPipelineTest, InvalidInputGraphIsFailedPreconditionAndNoPassRuns) {
  std::unique_ptr<Graph> g = Parse(kText);
  BreakingPass().Run(*g).IgnoreError();
  PassPipeline pipeline("test");
  NegatePass& pass = pipeline.AddPass(std::make_unique<NegatePass>());
  absl::StatusOr<bool> changed = pipeline.Run(*g);
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(changed.status().message()),
              HasSubstr("pipeline 'test' got an invalid graph: "));
  EXPECT_EQ(pass.runs(), 0);
}

TEST(PassPipelineTest, WithoutVerificationABrokenGraphIsNotReported) {
  std::unique_ptr<Graph> g = Parse(kText);
  PassPipeline pipeline("test", PassPipeline::Verification::kNone);
  pipeline.AddPass(std::make_unique<BreakingPass>());
  absl::StatusOr<bool> changed = pipeline.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(Verify(*g).ok());
}

}  // namespace
}  // namespace featx
