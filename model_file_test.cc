// Tests for CheckTorchScriptZipLayout (model_file.h) on the zips of
// fixtures/bad_input_models.py: the layouts LibTorch's reader throws on after
// opening the archive are rejected with their reason; everything else
// (TorchScript, truncated, not a zip) is left to LibTorch.
#include "model_file.h"

#include <fstream>
#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

constexpr char kDir[] = "fixtures/bad_input/";

// LibTorch 1.13's file format versions (caffe2/serialize/versions.h).
absl::Status Check(const std::string& path) { return CheckTorchScriptZipLayout(path, 1, 10); }

std::string Fixture(const std::string& name) { return kDir + name + ".pt"; }

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(CheckTorchScriptZipLayoutTest, TorchScriptArchivesPass) {
  EXPECT_TRUE(Check(Fixture("tiny")).ok());
  EXPECT_TRUE(Check(Fixture("no_forward")).ok());
  // Corrupted inside a record, but laid out as TorchScript: LibTorch's to judge.
  EXPECT_TRUE(Check(Fixture("data_flipped")).ok());
  EXPECT_TRUE(Check(Fixture("plain_zip")).ok());
}

TEST(CheckTorchScriptZipLayoutTest, WhatIsNotAReadableZipIsLeftToLibTorch) {
  std::string tiny = ReadBytes(Fixture("tiny"));
  ASSERT_GT(tiny.size(), 1000u);
  for (size_t keep : {size_t{10}, tiny.size() / 2, tiny.size() - 1}) {
    EXPECT_TRUE(Check(WriteTemp("cut.pt", tiny.substr(0, keep))).ok()) << keep;
  }
  EXPECT_TRUE(Check(WriteTemp("text.pt", "this is not a model\n")).ok());
  EXPECT_TRUE(Check(WriteTemp("empty.pt", "")).ok());
  // A signature with a directory past the end of the file.
  std::string bogus = std::string("PK\x05\x06", 4) + std::string(6, '\0') +
                      std::string("\x01\x00\x10\x00\x00\x00\xf0\xff\xff\x00\x00\x00", 12);
  EXPECT_TRUE(Check(WriteTemp("bogus.pt", bogus)).ok());
}

TEST(CheckTorchScriptZipLayoutTest, RecordsOutsideAFolderAreRejected) {
  absl::Status s = Check(Fixture("flat_zip"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "'fixtures/bad_input/flat_zip.pt' is a zip archive but not a TorchScript file: its "
            "first record 'arr_0.npy' is not in a folder (TorchScript keeps every record under "
            "one, as in 'model/data.pkl')");
}

TEST(CheckTorchScriptZipLayoutTest, AnEmptyZipIsRejected) {
  absl::Status s = Check(Fixture("empty_zip"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a TorchScript file: it has no records"));
}

TEST(CheckTorchScriptZipLayoutTest, AFolderWithoutVersionIsRejected) {
  absl::Status s = Check(Fixture("no_version_zip"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("not a TorchScript file: it has no 'archive/version' record"));
}

TEST(CheckTorchScriptZipLayoutTest, AVersionThatIsNotANumberIsRejected) {
  absl::Status s = Check(Fixture("version_not_number_zip"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("not a TorchScript file: its version record 'archive/version' holds "
                        "'abc\\n', not a number"));
}

TEST(CheckTorchScriptZipLayoutTest, VersionsThisLibTorchDoesNotReadAreRejected) {
  absl::Status s = Check(Fixture("newer_version_zip"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "'fixtures/bad_input/newer_version_zip.pt' is in TorchScript file format version 99; "
            "this LibTorch reads versions 1 to 10 (was it saved by a newer PyTorch?)");
  // The same file with a LibTorch that reads version 99.
  EXPECT_TRUE(CheckTorchScriptZipLayout(Fixture("newer_version_zip"), 1, 99).ok());
  // tiny.pt's own version, outside a range that excludes it.
  EXPECT_THAT(std::string(CheckTorchScriptZipLayout(Fixture("tiny"), 20, 30).message()),
              HasSubstr("this LibTorch reads versions 20 to 30"));
}

// Damage that would make LibTorch allocate what the file claims: 4 GB.
TEST(CheckTorchScriptZipLayoutTest, ClaimsBeyondTheFileAreRejected) {
  absl::Status s = Check(Fixture("pickle_string_past_end"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("pickle_string_past_end.pt' is a damaged TorchScript file: its record "
                        "'tiny/data.pkl' has 4294967292 bytes of data at offset "));
  s = Check(Fixture("record_size_4gb"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("record_size_4gb.pt' is a damaged zip archive: its record "
                        "'tiny/data/0' claims 4294967280 bytes from "));
}

TEST(CheckTorchScriptZipLayoutTest, StoragesLargerThanTheirRecordAreRejected) {
  absl::Status s = Check(Fixture("storage_past_record"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "'fixtures/bad_input/storage_past_record.pt' is a damaged TorchScript file: its "
            "record 'tiny/data/0' holds 8 bytes, but 'tiny/data.pkl' makes it a storage of 12 "
            "FloatStorage elements (48 bytes)");
}

TEST(CheckTorchScriptZipLayoutTest, AMissingFileIsNotFound) {
  EXPECT_EQ(Check(kDir + std::string("nosuch.pt")).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace featx
