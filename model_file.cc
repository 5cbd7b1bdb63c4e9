#include "model_file.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "pickle_scan.h"

namespace featx {

namespace {

// Zip records (PKWARE APPNOTE 4.3.12, 4.3.16): the end-of-central-directory
// record is 22 bytes plus a comment of at most 65535; each central directory
// header is 46 bytes plus its name, extra field and comment.
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr size_t kEndSize = 22;
constexpr size_t kMaxComment = 65535;
constexpr size_t kCentralSize = 46;

uint32_t Le(absl::string_view bytes, size_t offset, int width) {
  uint32_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return v;
}

std::optional<std::string> ReadAt(std::ifstream& in, uint64_t offset, size_t size) {
  std::string bytes(size, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return std::nullopt;
  return bytes;
}

// A record name for a one-line message: escaped, at most 80 characters.
std::string Quoted(absl::string_view name) {
  std::string escaped = absl::CHexEscape(name.substr(0, 80));
  return absl::StrCat("'", escaped, name.size() > 80 ? "...'" : "'");
}

struct Record {
  std::string name;
  uint32_t method;  // 0: stored
  uint64_t compressed_size;
  uint64_t size;  // uncompressed
  uint64_t local_header_offset;
};

// The central directory's records, or nullopt where the archive is not one
// this check can read (not a zip, damaged, ZIP64): LibTorch decides then.
std::optional<std::vector<Record>> Records(std::ifstream& in, uint64_t file_size) {
  if (file_size < kEndSize) return std::nullopt;
  size_t tail_size = static_cast<size_t>(std::min<uint64_t>(file_size, kEndSize + kMaxComment));
  std::optional<std::string> tail = ReadAt(in, file_size - tail_size, tail_size);
  if (!tail.has_value()) return std::nullopt;
  // The last signature wins, as in miniz (LibTorch's zip reader).
  std::optional<size_t> end;
  for (size_t i = tail_size - kEndSize + 1; i-- > 0;) {
    if (Le(*tail, i, 4) == kEndSignature) {
      end = i;
      break;
    }
  }
  if (!end.has_value()) return std::nullopt;
  uint32_t count = Le(*tail, *end + 10, 2);
  uint64_t directory_size = Le(*tail, *end + 12, 4);
  uint64_t directory_offset = Le(*tail, *end + 16, 4);
  if (count == 0xffff || directory_offset == 0xffffffff) return std::nullopt;  // ZIP64
  if (directory_offset + directory_size > file_size) return std::nullopt;
  std::optional<std::string> directory = ReadAt(in, directory_offset, directory_size);
  if (!directory.has_value()) return std::nullopt;
  std::vector<Record> records;
  size_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (at + kCentralSize > directory->size() || Le(*directory, at, 4) != kCentralSignature) {
      return std::nullopt;
    }
    size_t name_size = Le(*directory, at + 28, 2);
    size_t extra_size = Le(*directory, at + 30, 2);
    size_t comment_size = Le(*directory, at + 32, 2);
    size_t next = at + kCentralSize + name_size + extra_size + comment_size;
    if (next > directory->size()) return std::nullopt;
    records.push_back(Record{.name = directory->substr(at + kCentralSize, name_size),
                             .method = Le(*directory, at + 10, 2),
                             .compressed_size = Le(*directory, at + 20, 4),
                             .size = Le(*directory, at + 24, 4),
                             .local_header_offset = Le(*directory, at + 42, 4)});
    at = next;
  }
  return records;
}

// The contents of a stored (uncompressed) record of at most `max_size` bytes,
// or nullopt (compressed, larger, or unreadable: LibTorch decides then).
std::optional<std::string> StoredRecord(std::ifstream& in, const Record& r, uint64_t max_size) {
  constexpr size_t kLocalSize = 30;  // local file header (APPNOTE 4.3.7)
  if (r.method != 0 || r.compressed_size > max_size) return std::nullopt;
  std::optional<std::string> local = ReadAt(in, r.local_header_offset, kLocalSize);
  if (!local.has_value() || Le(*local, 0, 4) != 0x04034b50) return std::nullopt;
  uint64_t data = r.local_header_offset + kLocalSize + Le(*local, 26, 2) + Le(*local, 28, 2);
  return ReadAt(in, data, static_cast<size_t>(r.compressed_size));
}

// The leading digits of `text` as a number, as std::stoull (LibTorch's
// reader) reads them, the rest ignored; nullopt if there are none.
// `saturated` is set when the number does not fit in 64 bits.
std::optional<uint64_t> ParseVersion(absl::string_view text, bool* saturated) {
  uint64_t v = 0;
  size_t digits = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) break;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) *saturated = true;
    v = next;
    ++digits;
  }
  return digits == 0 ? std::nullopt : std::optional<uint64_t>(v);
}

// LibTorch's reader allocates a record's uncompressed size, as the central
// directory states it, before reading the record: a few changed bytes in a
// 3 KB file made it allocate 4 GB (found by //fuzz:model_fuzzer). Sizes no
// intact archive can have are rejected first: a stored record's two sizes
// differ, a deflated one expands more than deflate can (1032:1), or the
// compressed bytes run past the end of the file.
absl::Status CheckRecordSizes(const std::string& path, const std::vector<Record>& records,
                              uint64_t file_size) {
  constexpr uint64_t kZip64 = 0xffffffff;  // the real sizes are in a ZIP64 field
  constexpr uint64_t kMaxDeflateRatio = 1032;
  for (const Record& r : records) {
    if (r.size == kZip64 || r.compressed_size == kZip64) continue;
    bool stored_mismatch = r.method == 0 && r.size != r.compressed_size;
    bool over_expanded = r.method == 8 && r.size > r.compressed_size * kMaxDeflateRatio + 64;
    bool past_end = r.local_header_offset + r.compressed_size > file_size;
    if (stored_mismatch || over_expanded || past_end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", path, "' is a damaged zip archive: its record ", Quoted(r.name), " claims ", r.size,
          " bytes from ", r.compressed_size, " ", r.method == 0 ? "stored" : "compressed", " bytes",
          past_end ? absl::StrCat(" at offset ", r.local_header_offset, ", past the end of the ",
                                  file_size, "-byte file")
                   : ""));
    }
  }
  return absl::OkStatus();
}

// Every stored pickle record (data.pkl, constants.pkl; PyTorch stores them
// uncompressed) through ScanPickle (pickle_scan.h): no length past its end,
// and each tensor storage it names no larger than its record
// (<folder>/data/<key> for data.pkl, <folder>/constants/<key> for
// constants.pkl), which LibTorch 1.13 would read past the end of.
absl::Status CheckPickles(const std::string& path, std::ifstream& in,
                          const std::vector<Record>& records) {
  constexpr uint64_t kMaxPickle = uint64_t{256} << 20;      // larger ones are not read here
  absl::flat_hash_map<std::string, const Record*> by_name;  // miniz ignores case
  for (const Record& r : records) by_name.emplace(absl::AsciiStrToLower(r.name), &r);
  std::string damaged = absl::StrCat("'", path, "' is a damaged TorchScript file: ");
  for (const Record& r : records) {
    if (!absl::EndsWith(r.name, ".pkl")) continue;
    std::optional<std::string> pickle = StoredRecord(in, r, kMaxPickle);
    if (!pickle.has_value()) continue;
    absl::StatusOr<PickleScan> scan = ScanPickle(*pickle);
    if (!scan.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(damaged, "its record ", Quoted(r.name), " ", scan.status().message()));
    }
    std::string prefix = r.name.substr(0, r.name.size() - 4) + "/";  // "m/data.pkl" -> "m/data/"
    for (const PickleScan::Storage& s : scan->storages) {
      int element = StorageElementSize(s.type);
      auto data = by_name.find(absl::AsciiStrToLower(prefix + s.key));
      if (element == 0 || s.numel <= 0 || data == by_name.end()) continue;  // LibTorch judges
      uint64_t bytes = static_cast<uint64_t>(s.numel) * static_cast<uint64_t>(element);
      if (static_cast<uint64_t>(s.numel) > (uint64_t{1} << 56) || bytes > data->second->size) {
        return absl::InvalidArgumentError(absl::StrCat(
            damaged, "its record ", Quoted(data->second->name), " holds ", data->second->size,
            " bytes, but ", Quoted(r.name), " makes it a storage of ", s.numel, " ", s.type,
            " elements (", bytes, " bytes)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTorchScriptZipLayout(const std::string& path, uint64_t min_version,
                                       uint64_t max_version) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open model file '", path, "'"));
  std::streamoff size = in.tellg();
  if (size < 0) return absl::OkStatus();
  std::optional<std::vector<Record>> records = Records(in, static_cast<uint64_t>(size));
  if (!records.has_value()) return absl::OkStatus();
  RETURN_IF_ERROR(CheckRecordSizes(path, *records, static_cast<uint64_t>(size)));
  std::string prefix = absl::StrCat("'", path, "' is a zip archive but not a TorchScript file: ");
  if (records->empty())
    return absl::InvalidArgumentError(absl::StrCat(prefix, "it has no records"));
  // LibTorch takes the folder of the first record as the archive's name.
  absl::string_view first = records->front().name;
  size_t slash = first.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "its first record ", Quoted(first),
        " is not in a folder (TorchScript keeps every record under one, as in 'model/data.pkl')"));
  }
  std::string folder(first.substr(0, slash));
  // LibTorch prefers .data/version; miniz looks records up ignoring case.
  const Record* version = nullptr;
  for (const char* name : {"/.data/version", "/version"}) {
    for (const Record& r : *records) {
      if (version == nullptr && absl::EqualsIgnoreCase(r.name, folder + name)) version = &r;
    }
  }
  if (version == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "it has no ", Quoted(folder + "/version"), " record"));
  }
  RETURN_IF_ERROR(CheckPickles(path, in, *records));
  std::optional<std::string> text = StoredRecord(in, *version, 64);
  if (!text.has_value()) return absl::OkStatus();
  absl::string_view number = absl::StripLeadingAsciiWhitespace(*text);
  // std::stoull reads a sign too ("-1" is 2^64 - 1): LibTorch judges those.
  if (absl::StartsWith(number, "+") || absl::StartsWith(number, "-")) return absl::OkStatus();
  bool saturated = false;
  std::optional<uint64_t> v = ParseVersion(number, &saturated);
  if (!v.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "its version record ",
                                                   Quoted(version->name), " holds ", Quoted(*text),
                                                   ", not a number"));
  }
  if (saturated || *v < min_version || *v > max_version) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is in TorchScript file format version ",
                     saturated ? std::string(number.substr(0, 24)) : absl::StrCat(*v),
                     "; this LibTorch reads versions ", min_version, " to ", max_version,
                     (*v > max_version || saturated) ? " (was it saved by a newer PyTorch?)" : ""));
  }
  return absl::OkStatus();
}

}  // namespace featx
