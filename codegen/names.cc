#include "codegen/names.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace featx {

namespace {

constexpr const char* kCppKeywords[] = {
    "alignas",      "alignof",
    "and",          "and_eq",
    "asm",          "auto",
    "bitand",       "bitor",
    "bool",         "break",
    "case",         "catch",
    "char",         "char16_t",
    "char32_t",     "class",
    "compl",        "const",
    "constexpr",    "const_cast",
    "continue",     "decltype",
    "default",      "delete",
    "do",           "double",
    "dynamic_cast", "else",
    "enum",         "explicit",
    "export",       "extern",
    "false",        "float",
    "for",          "friend",
    "goto",         "if",
    "inline",       "int",
    "long",         "mutable",
    "namespace",    "new",
    "noexcept",     "not",
    "not_eq",       "nullptr",
    "operator",     "or",
    "or_eq",        "private",
    "protected",    "public",
    "register",     "reinterpret_cast",
    "return",       "short",
    "signed",       "sizeof",
    "static",       "static_assert",
    "static_cast",  "struct",
    "switch",       "template",
    "this",         "thread_local",
    "throw",        "true",
    "try",          "typedef",
    "typeid",       "typename",
    "union",        "unsigned",
    "using",        "virtual",
    "void",         "volatile",
    "wchar_t",      "while",
    "xor",          "xor_eq",
    "at",           "c10",
    "std",          "torch",
};

// Lower-case names the headers generated code includes define as macros.
constexpr const char* kLowerCaseMacros[] = {"assert", "errno", "linux", "unix"};

// An upper-case name (EOF, NULL, INT64_MAX) may be a macro.
bool MayBeMacro(const std::string& id) {
  for (const char* m : kLowerCaseMacros) {
    if (id == m) return true;
  }
  bool upper = false;
  for (unsigned char c : id) {
    if (absl::ascii_islower(c)) return false;
    upper = upper || absl::ascii_isupper(c);
  }
  return upper;
}

}  // namespace

std::string CommentText(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    // A backslash could end the line and continue the comment onto the next;
    // so could "??/", a trigraph for it before C++17.
    if (c == '\\' || c < 0x20 || c >= 0x7f || (c == '?' && !out.empty() && out.back() == '?')) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string StringLiteral(absl::string_view s) {
  // CEscape escapes quotes, backslashes and non-ASCII bytes (as octal
  // escapes, which take at most three digits). A '?' after a '?' becomes
  // "\?": no trigraph ("??/" is a backslash before C++17).
  std::string out = "\"";
  for (char c : absl::CEscape(s)) {
    if (c == '?' && out.back() == '?') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string Namespace::Unique(const std::string& name) {
  std::string id;
  for (unsigned char c : name) {
    char out = absl::ascii_isalnum(c) ? static_cast<char>(c) : '_';
    if (out == '_' && !id.empty() && id.back() == '_') continue;  // no reserved "__"
    id += out;
  }
  while (!id.empty() && id.front() == '_') id.erase(0, 1);
  if (id.empty() || absl::ascii_isdigit(static_cast<unsigned char>(id[0]))) id = "v" + id;
  bool avoid = macros_ == Macros::kAvoided && MayBeMacro(id);
  for (const char* kw : kCppKeywords) avoid = avoid || id == kw;
  if (avoid) id += "_";
  int& count = used_[id];
  ++count;
  if (count == 1) return id;
  std::string candidate = absl::StrCat(id, "_", count);
  while (used_.count(candidate)) candidate = absl::StrCat(id, "_", ++count);
  used_[candidate] = 1;
  return candidate;
}

std::string SnakeCase(const std::string& camel) {
  // Words: a capital with its lower-case run ("Seed"), a run of capitals not
  // followed by lower case ("T" in "SwinT"), or digits. Digits and the word
  // "Net" join the word before them, as torchvision spells its models
  // (ResNet18 -> resnet18, MobileNetV3 -> mobilenet_v3).
  std::vector<std::string> words;
  size_t i = 0;
  while (i < camel.size()) {
    size_t start = i;
    unsigned char c = camel[i];
    if (absl::ascii_isdigit(c)) {
      while (i < camel.size() && absl::ascii_isdigit(camel[i])) ++i;
    } else if (absl::ascii_isupper(c)) {
      ++i;
      if (i < camel.size() && absl::ascii_islower(camel[i])) {
        while (i < camel.size() && absl::ascii_islower(camel[i])) ++i;
      } else {
        while (i < camel.size() && absl::ascii_isupper(camel[i]) &&
               !(i + 1 < camel.size() && absl::ascii_islower(camel[i + 1]))) {
          ++i;
        }
      }
    } else {
      ++i;
      while (i < camel.size() && !absl::ascii_isupper(camel[i]) && !absl::ascii_isdigit(camel[i]))
        ++i;
    }
    std::string word = absl::AsciiStrToLower(camel.substr(start, i - start));
    bool join = !words.empty() && (absl::ascii_isdigit(word[0]) || word == "net");
    if (join) {
      words.back() += word;
    } else {
      words.push_back(word);
    }
  }
  return absl::StrJoin(words, "_");
}

}  // namespace featx
