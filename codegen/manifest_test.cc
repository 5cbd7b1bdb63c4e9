#include "codegen/manifest.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

TEST(ManifestJsonTest, ListsFieldsInOrderAndShapesOnlyWhenKnown) {
  Manifest m{.model_file = "m.pt",
             .class_name = "MFeatures",
             .namespace_name = "demo",
             .mode = "eval",
             .input_shape = {1, 3, 32, 32},
             .outputs = {{.key = "b1",
                          .node = "blocks.1",
                          .module = "blocks.1",
                          .module_type = "ConvBlock",
                          .dtype = "float",
                          .shape = {1, 128, 8, 8},
                          .channels = 128,
                          .stride = 4},
                         {.key = "x", .node = "x"}}};
  EXPECT_EQ(ManifestJson(m), R"({
  "model": "m.pt",
  "class": "MFeatures",
  "namespace": "demo",
  "mode": "eval",
  "input_shape": [
    1,
    3,
    32,
    32
  ],
  "outputs": [
    {
      "key": "b1",
      "node": "blocks.1",
      "module": "blocks.1",
      "module_type": "ConvBlock",
      "dtype": "float",
      "shape": [
        1,
        128,
        8,
        8
      ],
      "channels": 128,
      "stride": 4
    },
    {
      "key": "x",
      "node": "x",
      "module": "",
      "module_type": ""
    }
  ]
}
)");
}

// Model-supplied names are escaped, and invalid UTF-8 does not throw.
TEST(ManifestJsonTest, EscapesNames) {
  Manifest m{.outputs = {{.key = "a\"b\\c\n", .node = std::string("bad\xff")}}};
  std::string json = ManifestJson(m);
  EXPECT_THAT(json, ::testing::HasSubstr(R"("key": "a\"b\\c\n")"));
  EXPECT_THAT(json, ::testing::HasSubstr("\"node\": \"bad\xEF\xBF\xBD\""));
}

}  // namespace
}  // namespace featx
