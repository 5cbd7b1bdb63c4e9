// pickle_scan.h
//
// A bounded scan of a TorchScript archive's pickle (data.pkl, constants.pkl)
// before LibTorch's unpickler runs it, for what the unpickler trusts:
//
//   ASSIGN_OR_RETURN(PickleScan scan, ScanPickle(bytes));
//   for (const PickleScan::Storage& s : scan.storages) ... s.key, s.numel
//
// - Lengths. The unpickler allocates what a string, bytes or long claims
//   before reading it: a 3 KB file claiming a 4 GB string allocated 4 GB.
//   A claim past the pickle's end is an error here.
// - Storages. Each tensor storage is a persistent id, ('storage',
//   torch.FloatStorage, key, location, numel), and LibTorch 1.13 makes a
//   storage of numel elements over the record data/<key> whatever that
//   record's size: a record shorter than numel elements is read past its end
//   (heap memory in the model's weights). The scan lists the ids, and
//   model_file.cc compares them with the records.
//
// The scan models the opcodes PyTorch's pickler writes (a stack, MARK, the
// memo). It stops at anything else and says so (`complete` false): what it
// found before stays true, and the unpickler judges the rest. No LibTorch.

#ifndef FEATX_PICKLE_SCAN_H_
#define FEATX_PICKLE_SCAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace featx {

struct PickleScan {
  struct Storage {
    std::string type;  // the global's name: "FloatStorage"
    std::string key;   // the record: data/<key> or constants/<key>
    int64_t numel;     // elements of `type`
  };
  std::vector<Storage> storages;
  bool complete = false;  // false: stopped at an opcode the scan does not model
};

// InvalidArgument if a length-prefixed item (string, bytes, long) claims
// more bytes than follow it; otherwise what the scan found.
absl::StatusOr<PickleScan> ScanPickle(absl::string_view pickle);

// The size in bytes of one element of a storage type ("FloatStorage": 4), or
// 0 for a type this does not know.
int StorageElementSize(absl::string_view type);

}  // namespace featx

#endif  // FEATX_PICKLE_SCAN_H_
