// model_file.h
//
// A check of a model file's zip layout, made before LibTorch reads it:
//
//   RETURN_IF_ERROR(CheckTorchScriptZipLayout(path, kMinVersion, kMaxVersion));
//   torch::jit::Module m = torch::jit::load(path);
//
// Why: LibTorch's archive reader (PyTorchStreamReader) opens the zip, then
// throws from its constructor when the layout is not TorchScript's (no
// records, records not under one folder, no `version` record, a version it
// does not read), and the zip
// reader's state is never freed: every such file leaks ~215 bytes, which
// AddressSanitizer reports and a service that checks uploaded files would
// accumulate. The check rejects those layouts itself, with a message saying
// what is wrong, so LibTorch only sees archives it opens and closes cleanly.
//
// It rejects only what it is sure of. A file that is not a zip, a damaged or
// truncated one, or a ZIP64 archive passes, and LibTorch gives its own error
// (those paths free their state). No LibTorch here.

#ifndef FEATX_MODEL_FILE_H_
#define FEATX_MODEL_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace featx {

// OK, or InvalidArgument naming `path` when the file is a readable zip
// archive whose layout TorchScript's reader rejects:
//   - it has no records;
//   - its first record is not in a folder ("notes.txt"; TorchScript keeps
//     every record under one folder, "model/data.pkl");
//   - that folder has no `version` (or `.data/version`) record;
//   - the version record (stored, as PyTorch writes it) is not a number, or
//     is outside [min_version, max_version], the file format versions the
//     LibTorch in use reads (caffe2::serialize::k{Min,Max}SupportedFileFormatVersion):
//     a model saved by a newer PyTorch.
// Also InvalidArgument for damage that would make LibTorch allocate what the
// file claims rather than what it holds (4 GB for a 3 KB file, found by
// //fuzz:model_fuzzer), or read past what it holds: record sizes no intact
// zip has; a stored pickle record (data.pkl) with a length past its end, or
// naming a tensor storage larger than its record (pickle_scan.h). NotFound if
// the file cannot be opened.
absl::Status CheckTorchScriptZipLayout(const std::string& path, uint64_t min_version,
                                       uint64_t max_version);

}  // namespace featx

#endif  // FEATX_MODEL_FILE_H_
