// Bad input gives a specific absl::Status, never a crash (issue 10, point 1):
// model files (missing, empty, a directory, truncated, a zip that is not
// TorchScript, code or data records corrupted, no forward), return nodes
// (unknown, duplicate keys, malformed syntax) and leaf modules that match
// nothing. The corrupted files come from fixtures/bad_input_models.py; the
// CLI's side is in tools/cli_test.sh.

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "featx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDir[] = "fixtures/bad_input/";

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// No LibTorch internal-assert wording, no backtrace, one line.
void ExpectUserFacing(const absl::Status& status) {
  std::string message(status.message());
  EXPECT_THAT(message, Not(HasSubstr("please report a bug")));
  EXPECT_THAT(message, Not(HasSubstr("INTERNAL ASSERT")));
  EXPECT_THAT(message, Not(HasSubstr("Exception raised from")));
  EXPECT_FALSE(absl::StrContains(message, "\n")) << message;
}

TEST(BadModelFileTest, MissingFileIsNotFoundWithTheOsReason) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/bad_input/no_such_model.pt");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(m.status().message(),
            "cannot open model file 'fixtures/bad_input/no_such_model.pt': No such file or "
            "directory");
}

TEST(BadModelFileTest, EmptyFileIsInvalidArgument) {
  std::string path = WriteTemp("empty.pt", "");
  absl::StatusOr<torch::jit::Module> m = LoadModel(path);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            absl::StrCat("model file '", path, "' is empty (0 bytes), not a TorchScript file"));
}

TEST(BadModelFileTest, DirectoryIsInvalidArgument) {
  absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/bad_input");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("is a directory"));
}

TEST(BadModelFileTest, TruncatedFileIsInvalidArgumentQuotingLibTorch) {
  std::string bytes = ReadBytes(absl::StrCat(kDir, "tiny.pt"));
  ASSERT_GT(bytes.size(), 1000u);
  for (int percent : {1, 10, 50, 90, 99}) {
    std::string path = WriteTemp(absl::StrCat("truncated_", percent, ".pt"),
                                 bytes.substr(0, bytes.size() * percent / 100));
    absl::StatusOr<torch::jit::Module> m = LoadModel(path);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << percent;
    // miniz's reason depends on where the cut lands ("failed finding central
    // directory", "not a ZIP archive").
    EXPECT_THAT(std::string(m.status().message()),
                HasSubstr(absl::StrCat("'", path,
                                       "' is not a readable TorchScript file: PytorchStreamReader "
                                       "failed reading zip archive: ")))
        << percent;
    ExpectUserFacing(m.status());
  }
}

TEST(BadModelFileTest, ZipThatIsNotTorchScriptIsInvalidArgument) {
  absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, "plain_zip.pt"));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()),
              AllOf(HasSubstr("plain_zip.pt' is not a readable TorchScript file: "),
                    HasSubstr("failed locating file constants.pkl")));
  ExpectUserFacing(m.status());
}

// Zips LibTorch's reader would throw on after opening them (leaking its state):
// featx's own layout check answers first (model_file.h).
TEST(BadModelFileTest, ZipsNotLaidOutAsTorchScriptAreInvalidArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"flat_zip", "its first record 'arr_0.npy' is not in a folder"},
      {"empty_zip", "it has no records"},
      {"no_version_zip", "it has no 'archive/version' record"},
      {"version_not_number_zip", "its version record 'archive/version' holds 'abc\\n'"},
  };
  for (const auto& [name, reason] : cases) {
    absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, name, ".pt"));
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(m.status().message()),
                HasSubstr(absl::StrCat(
                    name, ".pt' is a zip archive but not a TorchScript file: ", reason)));
    ExpectUserFacing(m.status());
  }
  // Damage that made LibTorch allocate 4 GB for a 3 KB file (fuzzer finding).
  // A tensor record shorter than its storage: LibTorch would read past it.
  for (const std::string name :
       {"pickle_string_past_end", "record_size_4gb", "storage_past_record"}) {
    absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, name, ".pt"));
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr("is a damaged ")) << name;
    ExpectUserFacing(m.status());
  }
  // A tensor whose shape reaches past its storage: LibTorch loads it.
  absl::StatusOr<torch::jit::Module> past = LoadModel(absl::StrCat(kDir, "tensor_past_storage.pt"));
  EXPECT_EQ(past.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(past.status().message()),
              HasSubstr("tensor_past_storage.pt' is a damaged TorchScript file: tensor "
                        "'lin.weight' (shape [30, 4], strides [4, 1], offset 0) reaches 480 bytes "
                        "of a storage of 48"));
  // A model saved by a newer PyTorch: the version LibTorch's reader refuses.
  absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, "newer_version_zip.pt"));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()),
              HasSubstr("newer_version_zip.pt' is in TorchScript file format version 99; this "
                        "LibTorch reads versions 1 to 10"));
}

// Each corrupted record, with the first line of LibTorch's own message.
TEST(BadModelFileTest, CorruptedRecordsAreInvalidArgumentQuotingLibTorch) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"code_flipped", "is not a readable TorchScript file: "},
      {"code_garbled", "is not a readable TorchScript file: expected ( but found '@' here:"},
      {"data_flipped", "is not a readable TorchScript file: Unknown opcode for unpickling at 0x"},
      {"data_not_module",
       "is not a readable TorchScript file: isObject() is false: a consistency check inside "
       "LibTorch failed (ivalue_inl.h:"},
  };
  for (const auto& [name, expected] : cases) {
    absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, name, ".pt"));
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(expected)) << name;
    EXPECT_THAT(std::string(m.status().message()), Not(HasSubstr("featx gave it"))) << name;
    ExpectUserFacing(m.status());
  }
}

TEST(BadModelFileTest, ModuleWithoutForwardIsInvalidArgumentForEveryApi) {
  absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, "no_forward.pt"));
  ASSERT_TRUE(m.ok()) << m.status();  // a valid TorchScript file
  const std::string expected =
      "the model (class NoForward) has no forward method, which featx traces; its methods: "
      "features";
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*m, {});
  EXPECT_EQ(names.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(names.status().message(), expected);
  absl::StatusOr<torch::jit::Module> extractor =
      CreateFeatureExtractor(*m, {.return_nodes = {"lin"}});
  EXPECT_EQ(extractor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(extractor.status().message(), expected);
  absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(
      *m, {.return_nodes = {"lin"}, .class_name = "F", .namespace_name = "ns"});
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(files.status().message(), expected);
}

TEST(BadModelFileTest, ValidBaseFixtureLoads) {
  // The corrupted files are made from this one: it must be fine.
  absl::StatusOr<torch::jit::Module> m = LoadModel(absl::StrCat(kDir, "tiny.pt"));
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*m, {});
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(names->eval, (std::vector<std::string>{"x", "lin", "relu"}));
}

// ---- Return nodes

class BadReturnNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<torch::jit::Module> m = LoadModel("fixtures/seed_cnn.pt");
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = *m;
  }
  absl::Status Extract(std::vector<std::string> return_nodes) {
    return CreateFeatureExtractor(model_, {.return_nodes = std::move(return_nodes)}).status();
  }
  torch::jit::Module model_;
};

TEST_F(BadReturnNodesTest, UnknownNameIsNotFoundWithClosestNames) {
  absl::Status s = Extract({"blocks.9"});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("node 'blocks.9' is not in the graph; closest: 'blocks.0'"));
}

TEST_F(BadReturnNodesTest, DuplicateKeysAreInvalidArgument) {
  absl::Status s = Extract({"blocks.0:x", "blocks.1:x"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("output key 'x' is given twice: by 'blocks.0:x' and by 'blocks.1:x'"));
}

TEST_F(BadReturnNodesTest, MalformedEntriesAreInvalidArgument) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"blocks.0", "", "blocks.1"}, "return node '' (entry 2 of 3) has an empty query"},
      {{"blocks.0::b"}, "return node 'blocks.0::b' has an empty part between ':'s"},
      {{"blocks.0:"}, "return node 'blocks.0:' has an empty key"},
      {{":x"}, "return node ':x' has an empty query"},
      {{"glob:"}, "return node 'glob:' has an empty pattern"},
  };
  for (const auto& [entries, expected] : cases) {
    absl::Status s = Extract(entries);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << expected;
    EXPECT_THAT(std::string(s.message()), HasSubstr(expected));
  }
}

// ---- Leaf modules

TEST_F(BadReturnNodesTest, LeafModuleMatchingNothingIsNotFoundWithClosestClasses) {
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(model_, {.leaf_modules = {"ConvBlok"}});
  EXPECT_EQ(names.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(names.status().message()),
              HasSubstr("leaf module 'ConvBlok' matches no module class or path in the model; "
                        "closest class names: 'ConvBlock', "));
  // The same check guards the extractor and code generation.
  absl::Status s = CreateFeatureExtractor(model_, {.return_nodes = {"blocks.1"},
                                                   .trace_options = {.leaf_modules = {"blocks.7"}}})
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("leaf module 'blocks.7' matches no module"));
}

TEST_F(BadReturnNodesTest, LeafModuleByClassQualifiedClassOrPathIsAccepted) {
  for (const char* leaf : {"ConvBlock", "blocks.0", "Conv2d", "torch.nn.modules.conv.Conv2d"}) {
    absl::StatusOr<NodeNames> names = GetGraphNodeNames(model_, {.leaf_modules = {leaf}});
    EXPECT_TRUE(names.ok()) << leaf << ": " << names.status();
  }
}

}  // namespace
}  // namespace featx
