#include "codegen/names.h"

#include "gtest/gtest.h"

namespace featx {
namespace {

TEST(NamespaceTest, SanitizesUntrustedNames) {
  Namespace ns;
  EXPECT_EQ(ns.Unique("layer1.0.conv1"), "layer1_0_conv1");
  EXPECT_EQ(ns.Unique("namespace"), "namespace_");
  EXPECT_EQ(ns.Unique("#include <cstdlib>"), "include_cstdlib_");
  EXPECT_EQ(ns.Unique("a*/b // c"), "a_b_c");
  EXPECT_EQ(ns.Unique("9lives"), "v9lives");
}

TEST(NamespaceTest, RepeatsAfterSanitizingGetCounters) {
  Namespace ns;
  EXPECT_EQ(ns.Unique("a-b"), "a_b");
  EXPECT_EQ(ns.Unique("a_b"), "a_b_2");
  EXPECT_EQ(ns.Unique("a.b"), "a_b_3");
  EXPECT_EQ(ns.Unique("a_b_2"), "a_b_2_2");  // taken by the counter above
}

TEST(NamespaceTest, AvoidsMacroNamesWhenAsked) {
  Namespace plain;
  EXPECT_EQ(plain.Unique("EOF"), "EOF");  // class names: checked, not rewritten
  Namespace ns(Namespace::Macros::kAvoided);
  EXPECT_EQ(ns.Unique("EOF"), "EOF_");
  EXPECT_EQ(ns.Unique("INT64_MAX"), "INT64_MAX_");
  EXPECT_EQ(ns.Unique("errno"), "errno_");
  EXPECT_EQ(ns.Unique("linux"), "linux_");
  EXPECT_EQ(ns.Unique("Eof"), "Eof");
  EXPECT_EQ(ns.Unique("x"), "x");
}

TEST(CommentTextTest, CannotEndOrContinueAComment) {
  EXPECT_EQ(CommentText("a*/b"), "a*/b");   // harmless in a // comment
  EXPECT_EQ(CommentText("a\\"), "a\\x5c");  // no line continuation
  EXPECT_EQ(CommentText("a\nb"), "a\\x0ab");
  EXPECT_EQ(CommentText("\xc3\xbc"), "\\xc3\\xbc");
  EXPECT_EQ(CommentText("a?"
                        "?/"),
            "a?\\x3f/");  // no trigraph
}

TEST(StringLiteralTest, EscapesEverythingThatEndsOrBreaksALiteral) {
  EXPECT_EQ(StringLiteral("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(StringLiteral("a\\"), "\"a\\\\\"");
  EXPECT_EQ(StringLiteral("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(StringLiteral("\xc3\xbc"), "\"\\303\\274\"");
  EXPECT_EQ(StringLiteral("a?"
                          "?"
                          "?/"),
            "\"a?\\?\\?/\"");  // no trigraph
}

}  // namespace
}  // namespace featx
