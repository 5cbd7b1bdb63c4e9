// Tests for the operator table of the C++ back end (cpp_backend.h): where a
// node's schema comes from, and the error for an operator that is not
// registered at generation time (issue 10: the error names the node and the
// operator, and how to register it).
#include "codegen/cpp_backend.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "graph/schema.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "naming/naming.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Graph> Parse(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return std::make_unique<Graph>();
  NameNodes(**g);  // as the pipeline does before the back end: errors name nodes
  return *std::move(g);
}

// A node without a schema (as a pass makes it) gets the registry's.
TEST(OperatorTableTest, RegisteredOperatorsGetTheRegistrySchema) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function aten::add.Tensor(%1, %0, 1) : Tensor
output(%2)
)");
  absl::StatusOr<std::map<std::string, OperatorInfo>> ops = OperatorTable(*g);
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_EQ(ops->size(), 2);
  const OperatorInfo& add = ops->at("aten::add.Tensor");
  EXPECT_EQ(ToSchemaText(add.schema),
            "aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor");
  EXPECT_TRUE(add.dispatcher);
  EXPECT_TRUE(add.aten);
}

TEST(OperatorTableTest, AnUnregisteredOperatorNamesTheNodeAndTheFlag) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = call_function aten::relu(%0) : Tensor
%2 = call_function myops::frobnicate(%1) : Tensor
output(%2)
)");
  absl::StatusOr<std::map<std::string, OperatorInfo>> ops = OperatorTable(*g);
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(ops.status().message()),
            "cannot generate C++ for node 'frobnicate': operator myops::frobnicate is not "
            "registered in this process (load the library that defines it: --load_library=PATH, "
            "or featx::LoadOperatorLibrary)");
}

// Inside a block (a loop body) too: the table covers every block.
TEST(OperatorTableTest, UnregisteredOperatorsInsideBlocksAreFound) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = loop(3, true, %0) : Tensor {
  %2 = placeholder i : int
  %3 = placeholder acc : Tensor
  %4 = call_function myops::step(%3) : Tensor
  output(true, %4)
}
output(%1)
)");
  absl::StatusOr<std::map<std::string, OperatorInfo>> ops = OperatorTable(*g);
  ASSERT_FALSE(ops.ok());
  EXPECT_THAT(ops.status().message(), HasSubstr("operator myops::step is not registered"));
}

// The overload must match: aten::add has no ".Frob" overload.
TEST(OperatorTableTest, AnUnknownOverloadIsNotRegistered) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor
%1 = call_function aten::add.Frob(%0, %0) : Tensor
output(%1)
)");
  absl::StatusOr<std::map<std::string, OperatorInfo>> ops = OperatorTable(*g);
  ASSERT_FALSE(ops.ok());
  EXPECT_THAT(ops.status().message(), HasSubstr("operator aten::add.Frob is not registered"));
}

}  // namespace
}  // namespace featx
