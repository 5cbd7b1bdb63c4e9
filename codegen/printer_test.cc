#include "codegen/printer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

std::string Text(const Printer& p) {
  absl::StatusOr<std::string> text = p.Finish();
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

TEST(PrinterTest, SubstitutesVariables) {
  Printer p;
  p.Emit({{"var", "y"}, {"n", 3}}, "auto $var$ = x + $n$;\n");
  EXPECT_EQ(Text(p), "auto y = x + 3;\n");
}

TEST(PrinterTest, DoubleDollarIsALiteralDollar) {
  Printer p;
  p.Emit("a$$b\n");
  EXPECT_EQ(Text(p), "a$b\n");
}

TEST(PrinterTest, ValuesAreNotScannedForVariables) {
  // A model's string may contain '$'; it is a value, never a template.
  Printer p;
  p.Emit({{"s", "\"$var$\""}}, "f($s$);\n");
  EXPECT_EQ(Text(p), "f(\"$var$\");\n");
}

TEST(PrinterTest, ScopedIndentation) {
  Printer p;
  p.Emit("a {\n");
  {
    Printer::Indent indent(p);
    p.Emit("b;\n\n");
    {
      Printer::Indent deeper(p);
      p.Emit("c;\n");
    }
  }
  p.Emit("}\n");
  EXPECT_EQ(Text(p), "a {\n  b;\n\n    c;\n}\n");
}

TEST(PrinterTest, IndentsEveryLineOfAMultiLineValue) {
  Printer p;
  Printer::Indent indent(p);
  p.Emit({{"body", "x;\ny;\n"}}, "$body$z;\n");
  EXPECT_EQ(Text(p), "  x;\n  y;\n  z;\n");
}

TEST(PrinterTest, LinePiecesAreIndentedOnce) {
  Printer p;
  Printer::Indent indent(p);
  p.Emit("auto a = ");
  p.Emit({{"v", "1"}}, "$v$");
  p.Emit(";\n");
  EXPECT_EQ(Text(p), "  auto a = 1;\n");
}

TEST(PrinterTest, MissingVariableIsAnErrorNotACrash) {
  Printer p;
  p.Emit({{"a", "1"}}, "$a$ + $b$;\n");
  absl::StatusOr<std::string> text = p.Finish();
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("$b$"));
}

TEST(PrinterTest, UnmatchedDollarIsAnError) {
  Printer p;
  p.Emit("price: $5\n");
  EXPECT_EQ(p.Finish().status().code(), absl::StatusCode::kInternal);
}

TEST(PrinterTest, FirstErrorIsKept) {
  Printer p;
  p.Emit("$first$\n");
  p.Emit("$second$\n");
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("$first$"));
}

}  // namespace
}  // namespace featx
