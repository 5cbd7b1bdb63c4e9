// Tests for ScanPickle (pickle_scan.h): length claims past the end, and the
// tensor storages a TorchScript pickle names, written as PyTorch's pickler
// writes them (torch/csrc/jit/serialization/pickler.cpp), memo included.
#include "pickle_scan.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

std::string U32(uint32_t v) {
  return std::string({static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                      static_cast<char>(v >> 24)});
}
std::string Str(const std::string& s) { return "X" + U32(s.size()) + s; }   // BINUNICODE
std::string Put(int i) { return std::string("q") + static_cast<char>(i); }  // BINPUT
std::string Get(int i) { return std::string("h") + static_cast<char>(i); }  // BINGET

TEST(ScanPickleTest, LengthsPastTheEndAreRejected) {
  // PROTO 2, BINUNICODE "ab", STOP.
  EXPECT_TRUE(ScanPickle(std::string("\x80\x02X\x02\x00\x00\x00"
                                     "ab.",
                                     10))
                  .ok());
  // The same string claiming 3 bytes, then 2 claiming 2^32 - 1.
  EXPECT_THAT(std::string(ScanPickle(std::string("\x80\x02X\x03\x00\x00\x00"
                                                 "ab",
                                                 9))
                              .status()
                              .message()),
              HasSubstr("has 3 bytes of data at offset 2, past its end (2 bytes remain)"));
  EXPECT_FALSE(ScanPickle(std::string("X\xff\xff\xff\xff", 5)).ok());
  // SHORT_BINBYTES, BINBYTES8 and LONG4 are length-prefixed too.
  EXPECT_FALSE(ScanPickle(std::string("C\x05"
                                      "abc",
                                      5))
                   .ok());
  EXPECT_FALSE(ScanPickle(std::string("\x8e\x00\x00\x00\x00\x01\x00\x00\x00", 9)).ok());
  EXPECT_FALSE(ScanPickle(std::string("\x8b\x10\x00\x00\x00\x01", 6)).ok());
  // Fixed-size arguments are skipped: BININT's 4 bytes hold an 'X' here.
  EXPECT_TRUE(ScanPickle(std::string("J\x00X\xff\xff.", 6)).ok());
  // Text arguments run to their newline (GLOBAL has two lines).
  EXPECT_FALSE(ScanPickle("c__torch__\nTiny\nX\xff\xff\xff\xff").ok());
  EXPECT_TRUE(ScanPickle("c__torch__\nTinyX\xff\xff\xff\xff").ok());
  // Unknown opcodes end the check (the unpickler judges them); so does STOP,
  // whatever follows.
  EXPECT_TRUE(ScanPickle(std::string("\xffX\xff\xff\xff\xff", 6)).ok());
  EXPECT_TRUE(ScanPickle(std::string(".X\xff\xff\xff\xff", 6)).ok());
  EXPECT_TRUE(ScanPickle("").ok());
}

TEST(ScanPickleTest, StoragesAreListedAsPyTorchWritesThem) {
  // _rebuild_tensor_v2((storage id), 5, (3, 4), (4, 1), ...) twice (no NUL bytes:
  // the pieces are C strings); the second
  // id reuses the memoized 'storage', global and 'cpu', as the pickler does.
  std::string id1 = "(" + Str("storage") + Put(1) + "ctorch\nFloatStorage\n" + Put(2) + Str("0") +
                    Put(3) + Str("cpu") + Put(4) + "K\x0c" + "tQ";
  std::string id2 = "(" + Get(1) + Get(2) + Str("1") + Get(4) + "J" + U32(70000) + "tQ";
  std::string pickle =
      "\x80\x02"
      "ctorch._utils\n_rebuild_tensor_v2\n" +
      Put(0) + "(" + id1 + "K\x05K\x03K\x04\x86K\x04K\x01\x86\x89" + "tR" + Get(0) + "(" + id2 +
      "K\x05\x85tR\x86.";
  absl::StatusOr<PickleScan> scan = ScanPickle(pickle);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_TRUE(scan->complete);
  ASSERT_EQ(scan->storages.size(), 2u);
  EXPECT_EQ(scan->storages[0].type, "FloatStorage");
  EXPECT_EQ(scan->storages[0].key, "0");
  EXPECT_EQ(scan->storages[0].numel, 12);
  EXPECT_EQ(scan->storages[1].type, "FloatStorage");
  EXPECT_EQ(scan->storages[1].key, "1");
  EXPECT_EQ(scan->storages[1].numel, 70000);
}

TEST(ScanPickleTest, StopsAtWhatItDoesNotModelKeepingWhatItFound) {
  std::string id =
      "(" + Str("storage") + "ctorch\nLongStorage\n" + Str("7") + Str("cpu") + "K\x05tQ";
  absl::StatusOr<PickleScan> scan = ScanPickle(id + "I12\n" + id + ".");  // INT: not modelled
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->complete);
  ASSERT_EQ(scan->storages.size(), 1u);
  EXPECT_EQ(scan->storages[0].numel, 5);
  // A stack underflow stops it too (the unpickler would throw).
  scan = ScanPickle("t.");
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->complete);
  // Other persistent ids are not storages.
  scan = ScanPickle("(" + Str("other") + Str("x") + "tQ.");
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(scan->complete);
  EXPECT_TRUE(scan->storages.empty());
}

TEST(StorageElementSizeTest, KnownTypes) {
  EXPECT_EQ(StorageElementSize("FloatStorage"), 4);
  EXPECT_EQ(StorageElementSize("HalfStorage"), 2);
  EXPECT_EQ(StorageElementSize("ComplexDoubleStorage"), 16);
  EXPECT_EQ(StorageElementSize("NoSuchStorage"), 0);
}

}  // namespace
}  // namespace featx
