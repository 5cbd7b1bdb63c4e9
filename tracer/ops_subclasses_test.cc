// The table of torchvision's subclasses of torchvision.ops classes against the
// installed torchvision: //fixtures:ops_subclasses lists them at build time.

#include "tracer/ops_subclasses.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

TEST(OpsSubclassesTest, TableEqualsInstalledTorchvision) {
  std::ifstream in("fixtures/ops_subclasses.txt");
  ASSERT_TRUE(in.good()) << "missing fixtures/ops_subclasses.txt";
  std::vector<std::string> expected;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) expected.push_back(line);
  }
  ASSERT_FALSE(expected.empty());
  std::vector<std::string> table;
  for (const auto& [subclass, base] : TorchvisionOpsSubclasses()) {
    table.push_back(std::string(subclass) + " " + std::string(base));
  }
  EXPECT_EQ(table, expected) << "update kSubclasses in tracer/ops_subclasses.cc";
}

TEST(OpsSubclassesTest, MapsASubclassToItsBaseAndNothingElse) {
  EXPECT_EQ(TorchvisionOpsBase("torchvision.models.regnet.SimpleStemIN"),
            "torchvision.ops.misc.Conv2dNormActivation");
  EXPECT_EQ(TorchvisionOpsBase("torchvision.ops.misc.Conv2dNormActivation"), "");
  EXPECT_EQ(TorchvisionOpsBase("SimpleStemIN"), "");
}

}  // namespace
}  // namespace featx
