#include "codegen/runtime.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeSectionsTest, EverySectionTheEmitterNamesExists) {
  // Sections named by builtins.cc rows, the emitter and cpp_optimize.
  for (const char* name :
       {"floordiv", "remainder", "getitem", "slice", "concat", "contains", "allany", "find",
        "dictat", "dictfrompairs", "dictkeys", "listminmax", "format", "prepacked_conv2d"}) {
    absl::StatusOr<std::string> text = RuntimeSections({name});
    ASSERT_TRUE(text.ok()) << name << ": " << text.status();
    EXPECT_FALSE(text->empty()) << name;
  }
}

TEST(RuntimeSectionsTest, SectionsComeInFileOrderWithoutMarkers) {
  absl::StatusOr<std::string> text = RuntimeSections({"getitem", "floordiv"});
  ASSERT_TRUE(text.ok());
  EXPECT_LT(text->find("FloorDiv"), text->find("GetItem"));
  EXPECT_THAT(*text, ::testing::Not(HasSubstr("featx:")));
  EXPECT_THAT(*text, ::testing::Not(HasSubstr("#include")));
  EXPECT_TRUE(absl::EndsWith(*text, "}\n\n"));
}

TEST(RuntimeSectionsTest, UnknownSectionIsInternal) {
  absl::StatusOr<std::string> text = RuntimeSections({"floordiv", "nosuch"});
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("nosuch"));
}

TEST(RuntimeSectionsTest, NamesAreListedOnce) {
  std::vector<std::string> names = RuntimeSectionNames();
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  EXPECT_GE(names.size(), 14u);
}

}  // namespace
}  // namespace featx
