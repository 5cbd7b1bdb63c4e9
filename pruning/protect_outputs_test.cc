#include "pruning/protect_outputs.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::unique_ptr<Graph> Parse(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// bn1 is returned, and the in-place relu after it, which conv2 (also
// returned) reads, overwrites it.
TEST(ProtectOutputsTest, OutputOverwrittenByKeptInPlaceWriteIsReturnedThroughAClone) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor name=x
%1 = call_module bn1(%0) : Tensor scope=layer1 name=bn1
%2 = call_module relu(%1) : Tensor name=relu mutates=0 alias_of=0
%3 = call_module conv2(%2) : Tensor name=conv2
output(%1, %3, %1)
)");
  ProtectOutputsPass pass;
  EXPECT_EQ(pass.name(), "protect-outputs");
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(PrintGraph(*g), R"(%0 = placeholder x : Tensor name=x
%1 = call_module bn1(%0) : Tensor scope=layer1 name=bn1
%2 = call_function aten::clone(%1, None) : Tensor scope=layer1 name=bn1_clone
%3 = call_module relu(%1) : Tensor name=relu mutates=0 alias_of=0
%4 = call_module conv2(%3) : Tensor name=conv2
output(%2, %4, %2)
)");
  EXPECT_THAT(pass.copied(), ElementsAre("bn1"));
}

// The relu_ writes bn1 but nothing kept reads it after: no output needs it,
// so dead-code will drop it, and bn1 needs no clone.
TEST(ProtectOutputsTest, WriteThatDeadCodeWillDropNeedsNoClone) {
  constexpr char kText[] = R"(%0 = placeholder x : Tensor name=x
%1 = call_module bn1(%0) : Tensor name=bn1
%2 = call_module relu(%1) : Tensor name=relu mutates=0 alias_of=0
output(%1)
)";
  std::unique_ptr<Graph> g = Parse(kText);
  ProtectOutputsPass pass;
  absl::StatusOr<bool> changed = pass.Run(*g);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_FALSE(*changed);
  EXPECT_EQ(PrintGraph(*g), kText);
  EXPECT_THAT(pass.copied(), IsEmpty());
}

TEST(ProtectOutputsTest, CloneNameAvoidsExistingNames) {
  std::unique_ptr<Graph> g = Parse(R"(%0 = placeholder x : Tensor name=x
%1 = call_function aten::neg(%0) : Tensor name=x_clone
%2 = call_function aten::relu_(%0) : Tensor name=relu mutates=0 alias_of=0
%3 = call_function aten::mul.Tensor(%2, %1) : Tensor name=mul
output(%0, %3)
)");
  ASSERT_TRUE(ProtectOutputs(*g).ok());
  EXPECT_EQ(g->nodes()[1]->name(), "x_clone_1");
  EXPECT_EQ(g->nodes()[1]->target(), "aten::clone");
}

}  // namespace
}  // namespace featx
