#include "codegen/runfiles.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace featx {
namespace {

namespace fs = std::filesystem;

// Each test starts with none of the variables Bazel sets, and restores them.
class FindRunfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      saved_.push_back(value == nullptr ? kUnset : value);
      unsetenv(name);
    }
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = (tmp != nullptr ? fs::path(tmp) : fs::temp_directory_path() / "featx_runfiles_test") /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }

  void TearDown() override { RestoreBazelEnvironment(); }

  void RestoreBazelEnvironment() {
    for (size_t i = 0; i < saved_.size(); ++i) {
      if (saved_[i] == kUnset) {
        unsetenv(kVariables[i]);
      } else {
        setenv(kVariables[i], saved_[i].c_str(), /*overwrite=*/1);
      }
    }
  }

  // Creates root_/relative (and its directories) and returns its path.
  std::string WriteFile(const std::string& relative, const std::string& text = "x") {
    fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  static constexpr const char* kVariables[] = {"RUNFILES_DIR", "TEST_SRCDIR",
                                               "RUNFILES_MANIFEST_FILE"};
  static constexpr const char* kUnset = "\x01unset";
  std::vector<std::string> saved_;
  fs::path root_;
};

TEST_F(FindRunfileTest, FindsDataDependencyUnderBazelTest) {
  // The real runfiles of this test (data = ["runfiles.h"]): found through
  // Bazel's environment under `bazel test`, next to the binary otherwise.
  RestoreBazelEnvironment();
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string path = FindRunfile("featx/codegen/runfiles.h", self.c_str());
  ASSERT_FALSE(path.empty());
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_EQ(first_line, "// runfiles.h");
}

TEST_F(FindRunfileTest, FindsFileUnderRunfilesDir) {
  std::string expected = WriteFile("tree/ws/pkg/model.weights");
  setenv("RUNFILES_DIR", (root_ / "tree").c_str(), 1);
  EXPECT_EQ(FindRunfile("ws/pkg/model.weights", nullptr), expected);
}

TEST_F(FindRunfileTest, FindsFileUnderTestSrcdir) {
  std::string expected = WriteFile("srcdir/ws/pkg/model.weights");
  setenv("TEST_SRCDIR", (root_ / "srcdir").c_str(), 1);
  EXPECT_EQ(FindRunfile("ws/pkg/model.weights", nullptr), expected);
}

TEST_F(FindRunfileTest, FindsFileNextToBinaryStartedDirectly) {
  std::string binary = WriteFile("bin/pkg/tool");
  std::string expected = WriteFile("bin/pkg/tool.runfiles/ws/pkg/m.weights");
  EXPECT_EQ(FindRunfile("ws/pkg/m.weights", binary.c_str()), expected);
}

TEST_F(FindRunfileTest, SkipsDirectoryThatLacksTheFile) {
  fs::create_directories(root_ / "stale");
  setenv("RUNFILES_DIR", (root_ / "stale").c_str(), 1);
  std::string binary = WriteFile("bin/tool");
  std::string expected = WriteFile("bin/tool.runfiles/ws/m.weights");
  EXPECT_EQ(FindRunfile("ws/m.weights", binary.c_str()), expected);
}

TEST_F(FindRunfileTest, LooksUpManifestFromEnvironment) {
  std::string real = WriteFile("elsewhere/real.weights");
  std::string manifest =
      WriteFile("MANIFEST", "ws/other " + real + "\nws/pkg/m.weights " + real + "\n");
  setenv("RUNFILES_MANIFEST_FILE", manifest.c_str(), 1);
  EXPECT_EQ(FindRunfile("ws/pkg/m.weights", nullptr), real);
}

TEST_F(FindRunfileTest, LooksUpManifestNextToBinary) {
  std::string real = WriteFile("elsewhere/real.weights");
  std::string binary = WriteFile("bin/tool");
  WriteFile("bin/tool.runfiles_manifest", "ws/m.weights " + real + "\n");
  EXPECT_EQ(FindRunfile("ws/m.weights", binary.c_str()), real);
}

TEST_F(FindRunfileTest, ManifestEntryMustMatchWholePath) {
  std::string real = WriteFile("elsewhere/real.weights");
  std::string manifest = WriteFile("MANIFEST", "ws/pkg/m.weights.bak " + real + "\n");
  setenv("RUNFILES_MANIFEST_FILE", manifest.c_str(), 1);
  EXPECT_EQ(FindRunfile("ws/pkg/m.weights", nullptr), "");
}

TEST_F(FindRunfileTest, ReturnsEmptyWhenNotFound) {
  std::string binary = WriteFile("bin/tool");
  setenv("RUNFILES_DIR", root_.c_str(), 1);
  EXPECT_EQ(FindRunfile("ws/missing.weights", binary.c_str()), "");
}

TEST_F(FindRunfileTest, ReturnsExistingAbsolutePathAsIs) {
  std::string path = WriteFile("abs.weights");
  EXPECT_EQ(FindRunfile(path, nullptr), path);
  EXPECT_EQ(FindRunfile((root_ / "missing").string(), nullptr), "");
}

}  // namespace
}  // namespace featx
