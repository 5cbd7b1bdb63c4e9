// names.h
//
// Model-supplied text in generated C++: identifiers, comments and string
// literals. Everything a model names (modules, attributes, output keys,
// the model file) reaches generated code only through these functions.
//
//   Namespace ns;
//   ns.Unique("layer1.0.conv1") == "layer1_0_conv1"
//   ns.Unique("class") == "class_"
//   CommentText("a*/b\\") == "a*/b\\x5c"     // a backslash could continue a // comment
//   StringLiteral("a\"b\n") == "\"a\\\"b\\n\""

#ifndef FEATX_CODEGEN_NAMES_H_
#define FEATX_CODEGEN_NAMES_H_

#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace featx {

// Turns untrusted names into unique C++ identifiers: characters outside
// [A-Za-z0-9_] become '_', a leading digit gets a prefix and a C++ keyword a
// suffix, reserved double underscores are collapsed, and repeats get "_2",
// "_3". With Macros::kAvoided (every name the generated code declares), a
// name that could be a macro of the headers it includes gets a '_' suffix
// too: one without lower-case letters (EOF, NULL, INT64_MAX) or a lower-case
// macro (errno, linux, unix, assert).
class Namespace {
 public:
  enum class Macros { kAllowed, kAvoided };
  explicit Namespace(Macros macros = Macros::kAllowed) : macros_(macros) {}

  std::string Unique(const std::string& name);

 private:
  Macros macros_;
  std::map<std::string, int> used_;
};

// "ResNet18Features" -> "resnet18_features", "SeedCnnFeatures" ->
// "seed_cnn_features", "MobileNetV3Features" -> "mobilenet_v3_features":
// lower-case words joined by '_', where digits and "Net" stay with the word
// before them, as in torchvision's model names.
std::string SnakeCase(const std::string& camel);

// Text safe inside a // comment: printable ASCII only, no line continuation;
// other bytes (backslash, control characters, non-ASCII, the second '?' of
// "??", which could start a trigraph) are written as \xNN.
std::string CommentText(absl::string_view s);

// A C++ string literal holding exactly `s` (quotes, backslashes, control and
// non-ASCII bytes escaped, and no trigraph).
std::string StringLiteral(absl::string_view s);

}  // namespace featx

#endif  // FEATX_CODEGEN_NAMES_H_
