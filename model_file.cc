#include "model_file.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

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

// The names in the central directory, or nullopt where the archive is not
// one this check can read (not a zip, damaged, ZIP64): LibTorch decides then.
std::optional<std::vector<std::string>> RecordNames(std::ifstream& in, uint64_t file_size) {
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
  std::vector<std::string> names;
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
    names.push_back(directory->substr(at + kCentralSize, name_size));
    at = next;
  }
  return names;
}

}  // namespace

absl::Status CheckTorchScriptZipLayout(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open model file '", path, "'"));
  std::streamoff size = in.tellg();
  if (size < 0) return absl::OkStatus();
  std::optional<std::vector<std::string>> names = RecordNames(in, static_cast<uint64_t>(size));
  if (!names.has_value()) return absl::OkStatus();
  std::string prefix = absl::StrCat("'", path, "' is a zip archive but not a TorchScript file: ");
  if (names->empty()) return absl::InvalidArgumentError(absl::StrCat(prefix, "it has no records"));
  // LibTorch takes the folder of the first record as the archive's name.
  absl::string_view first = names->front();
  size_t slash = first.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "its first record ", Quoted(first),
        " is not in a folder (TorchScript keeps every record under one, as in 'model/data.pkl')"));
  }
  std::string folder(first.substr(0, slash));
  // miniz looks records up ignoring case (LibTorch passes no flags).
  for (const std::string& name : *names) {
    if (absl::EqualsIgnoreCase(name, folder + "/version") ||
        absl::EqualsIgnoreCase(name, folder + "/.data/version")) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(prefix, "it has no ", Quoted(folder + "/version"), " record"));
}

}  // namespace featx
