// Untrusted names in generated code (issue 10.2): see BUILD. The generated
// files are read as text and scanned; the generated classes are compiled
// into this test and compared with the TorchScript extractor.

#include <cstdint>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "codegen/runfiles.h"
#include "codegen/untrusted_e2e/untrusted_names_features.h"
#include "codegen/untrusted_e2e/untrusted_names_opt_features.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "torch/script.h"

namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Keep in sync with _RETURN_NODES in BUILD.
const std::vector<std::string> kReturnNodes = {
    "blocks.namespace:quote\"key",
    "blocks.int:back\\slash\\",
    "blocks.0conv:new\nline",
    "blocks.we-ird:end */ comment",
    "blocks.#include <cstdlib>:// line comment",
    "blocks.a//b:#include <cstdlib>",
    "blocks.a*/b:\xc3\xbcn\xc3\xaf"
    "code \xd0\xba\xd0\xbb\xd1\x8e\xd1\x87",
    "blocks.x /* y:a-b",
    "blocks.template:a_b",
    "blocks.a?"
    "?/:a.b",
    "blocks.EOF:tri?"
    "?/",
    "blocks.NULL:EOF",
    "blocks.we_ird",
    "mul:errno",
    "add:linux",
    "sub:namespace",
};

std::vector<std::string> Keys() {
  std::vector<std::string> keys;
  for (const std::string& r : kReturnNodes) {
    size_t colon = r.find(':');
    keys.push_back(colon == std::string::npos ? r : r.substr(colon + 1));
  }
  return keys;
}

// Module, parameter and buffer names of the model (fixtures/untrusted_names_models.py).
const std::vector<std::string> kModelNames = {"namespace",
                                              "int",
                                              "0conv",
                                              "we-ird",
                                              "#include <cstdlib>",
                                              "a//b",
                                              "a*/b",
                                              "x /* y",
                                              "template",
                                              "a?"
                                              "?/",
                                              "EOF",
                                              "NULL",
                                              "we_ird",
                                              "#include <cstdio>",
                                              "0scale */ //"};

std::string Read(const std::string& runfile) {
  std::string path = featx::FindRunfile("featx/codegen/untrusted_e2e/" + runfile, nullptr);
  EXPECT_FALSE(path.empty()) << runfile;
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- a C++ lexer just good enough to take a file apart

struct Scanned {
  std::string code;                         // comments, literals and directives removed
  std::vector<std::string> line_comments;   // the text after "//"
  std::vector<std::string> block_comments;  // the text between "/*" and "*/"
  std::vector<std::string> literals;        // string literals, escapes decoded
  std::vector<std::string> directives;      // preprocessor lines
  std::string error;                        // an unterminated comment or literal
};

// Decodes a string literal's body (between the quotes).
std::string Decode(const std::string& body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    char c = body[++i];
    if (c >= '0' && c <= '7') {
      int v = 0;
      for (int k = 0; k < 3 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++k, ++i) {
        v = v * 8 + (body[i] - '0');
      }
      --i;
      out += static_cast<char>(v);
    } else if (c == 'x') {
      int v = 0;
      while (i + 1 < body.size() && std::isxdigit(static_cast<unsigned char>(body[i + 1]))) {
        char h = body[++i];
        v = v * 16 +
            (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
      }
      out += static_cast<char>(v);
    } else {
      switch (c) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        default:
          out += c;  // \" \\ \' \?
      }
    }
  }
  return out;
}

Scanned Scan(const std::string& text) {
  Scanned s;
  size_t i = 0;
  bool line_start = true;
  while (i < text.size()) {
    char c = text[i];
    if (line_start && c == '#') {
      size_t end = text.find('\n', i);
      s.directives.push_back(text.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == '\n') {
      s.code += c;
      line_start = true;
      ++i;
      continue;
    }
    if (c != ' ') line_start = false;
    if (text.compare(i, 2, "//") == 0) {
      size_t end = text.find('\n', i);
      s.line_comments.push_back(text.substr(i + 2, end - i - 2));
      i = end;
    } else if (text.compare(i, 2, "/*") == 0) {
      size_t end = text.find("*/", i + 2);
      if (end == std::string::npos) return s.error = "unterminated /* comment", s;
      s.block_comments.push_back(text.substr(i + 2, end - i - 2));
      s.code += ' ';
      i = end + 2;
    } else if (text.compare(i, 2, "R\"") == 0) {
      size_t open = text.find('(', i);
      std::string close = ")" + text.substr(i + 2, open - i - 2) + "\"";
      size_t end = text.find(close, open);
      if (end == std::string::npos) return s.error = "unterminated raw string", s;
      s.literals.push_back(text.substr(open + 1, end - open - 1));
      s.code += "\"\"";
      i = end + close.size();
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != c && text[j] != '\n') j += text[j] == '\\' ? 2 : 1;
      if (j >= text.size() || text[j] != c) return s.error = "unterminated literal", s;
      if (c == '"') s.literals.push_back(Decode(text.substr(i + 1, j - i - 1)));
      s.code += "\"\"";
      i = j + 1;
    } else {
      s.code += c;
      ++i;
    }
  }
  return s;
}

std::set<std::string> Identifiers(const std::string& code) {
  std::set<std::string> ids;
  std::regex id("[A-Za-z_][A-Za-z0-9_]*");
  for (auto it = std::sregex_iterator(code.begin(), code.end(), id); it != std::sregex_iterator();
       ++it) {
    ids.insert(it->str());
  }
  return ids;
}

class GeneratedTextTest : public ::testing::TestWithParam<std::string> {};

// Bytes no name can smuggle in: non-ASCII and control characters, a
// backslash that splices the next line into this one (ending a // comment's
// line or a literal), and trigraphs (??/ is a backslash before C++17).
TEST_P(GeneratedTextTest, NothingSplicesOrHidesLines) {
  std::string text = Read(GetParam());
  ASSERT_FALSE(text.empty());
  for (unsigned char c : text) {
    ASSERT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << "byte " << static_cast<int>(c);
  }
  std::istringstream lines(text);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    ++n;
    EXPECT_FALSE(absl::EndsWith(line, "\\")) << GetParam() << ":" << n << ": " << line;
    EXPECT_THAT(line, Not(HasSubstr("??"))) << GetParam() << ":" << n;
  }
}

TEST_P(GeneratedTextTest, NoModelTextOutsideCommentsAndLiterals) {
  Scanned s = Scan(Read(GetParam()));
  ASSERT_EQ(s.error, "");
  // Code: no stray comment end, no backslash, and no model name that is not
  // an identifier. Names that are identifiers must not stay as they are
  // when they are keywords or macros.
  EXPECT_FALSE(absl::StrContains(s.code, "*/"));
  EXPECT_FALSE(absl::StrContains(s.code, "\\"));
  for (const std::string& name : kModelNames) {
    // Names of identifier characters ("0conv") may stay inside identifiers
    // ("w_blocks_0conv_bias_"); keywords and macros are checked below.
    if (std::regex_match(name, std::regex("[A-Za-z0-9_]+"))) continue;
    EXPECT_FALSE(absl::StrContains(s.code, name)) << name;
  }
  std::set<std::string> ids = Identifiers(s.code);
  for (const char* word : {"EOF", "NULL", "errno", "linux"}) {
    EXPECT_THAT(ids, Not(Contains(word)));
  }
  // Preprocessor lines are featx's own.
  std::regex directive(
      "#include <[A-Za-z0-9_/.]+>|#include \"untrusted_names(_opt)?_features\\.h\"|"
      "#(ifndef|define) FEATX_GENERATED_[A-Z0-9_]+_H_|#endif  // FEATX_GENERATED_[A-Z0-9_]+_H_");
  for (const std::string& d : s.directives) EXPECT_TRUE(std::regex_match(d, directive)) << d;
  // Block comments are featx's own argument labels (/*relu=*/).
  for (const std::string& c : s.block_comments) {
    EXPECT_TRUE(std::regex_match(c, std::regex("[a-z_]+="))) << c;
  }
}

// Keys and weight names are written as literals that decode to exactly them.
TEST(GeneratedTextTest, KeysAndWeightNamesAreExactLiterals) {
  for (const char* file : {"untrusted_names_features.cc", "untrusted_names_opt_features.cc"}) {
    Scanned s = Scan(Read(file));
    ASSERT_EQ(s.error, "");
    for (const std::string& key : Keys()) EXPECT_THAT(s.literals, Contains(key)) << file;
    for (const char* weight : {"#include <cstdio>", "0scale */ //", "namespace"}) {
      EXPECT_THAT(s.literals, Contains(weight)) << file;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GeneratedTextTest,
                         ::testing::Values("untrusted_names_features.h",
                                           "untrusted_names_features.cc",
                                           "untrusted_names_opt_features.h",
                                           "untrusted_names_opt_features.cc"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = std::isalnum(c) ? c : '_';
                           return name;
                         });

// ---- the generated code runs, and equals the TorchScript extractor

c10::Dict<std::string, at::Tensor> Reference(const at::Tensor& x) {
  absl::StatusOr<torch::jit::Module> m = featx::LoadModel("fixtures/untrusted/untrusted_names.pt");
  EXPECT_TRUE(m.ok()) << m.status();
  absl::StatusOr<torch::jit::Module> extractor =
      featx::CreateFeatureExtractor(*m, {.return_nodes = kReturnNodes});
  EXPECT_TRUE(extractor.ok()) << extractor.status();
  extractor->eval();
  torch::NoGradGuard no_grad;
  c10::Dict<std::string, at::Tensor> out;
  for (const auto& item : extractor->forward({x}).toGenericDict()) {
    out.insert(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

// Same keys in the same order; values within `tol` of the reference's magnitude.
void ExpectSame(const c10::Dict<std::string, at::Tensor>& got,
                const c10::Dict<std::string, at::Tensor>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  std::vector<std::string> keys = Keys();
  auto g = got.begin();
  size_t i = 0;
  for (auto w = want.begin(); w != want.end(); ++w, ++g, ++i) {
    ASSERT_EQ(g->key(), w->key());
    EXPECT_EQ(w->key(), keys[i]);
    double scale = std::max(1.0, w->value().abs().max().item<double>());
    EXPECT_TRUE(g->value().allclose(w->value(), tol, tol * scale)) << w->key();
  }
}

std::string Weights(const std::string& stem) {
  std::string path =
      featx::FindRunfile("featx/codegen/untrusted_e2e/" + stem + ".weights", nullptr);
  EXPECT_FALSE(path.empty()) << stem;
  return path;
}

TEST(UntrustedNamesTest, GeneratedCodeEqualsTorchScriptExtractor) {
  untrusted::UntrustedFeatures generated =
      untrusted::UntrustedFeatures::Load(Weights("untrusted_names_features"));
  torch::manual_seed(1);
  at::Tensor x = torch::randn({2, 3, 8, 8});
  untrusted::UntrustedFeatures::Features f = generated(x);
  ExpectSame(f.ToDict(), Reference(x), 1e-5);
  // Keys that collide after sanitizing get distinct fields.
  EXPECT_TRUE(f.a_b.equal(f.ToDict().at("a-b")));
  EXPECT_TRUE(f.a_b_2.equal(f.ToDict().at("a_b")));
  EXPECT_TRUE(f.a_b_3.equal(f.ToDict().at("a.b")));
  EXPECT_TRUE(f.namespace_.equal(f.ToDict().at("namespace")));
  // Keys that are macros of the included headers.
  EXPECT_TRUE(f.EOF_.equal(f.ToDict().at("EOF")));
  EXPECT_TRUE(f.errno_.equal(f.ToDict().at("errno")));
  EXPECT_TRUE(f.linux_.equal(f.ToDict().at("linux")));
}

TEST(UntrustedNamesTest, OptimizedCodeEqualsTorchScriptExtractor) {
  untrusted::UntrustedOptFeatures generated =
      untrusted::UntrustedOptFeatures::Load(Weights("untrusted_names_opt_features"));
  torch::manual_seed(1);
  at::Tensor x = torch::randn({2, 3, 8, 8});
  ExpectSame(generated(x).ToDict(), Reference(x), 1e-4);
}

}  // namespace
