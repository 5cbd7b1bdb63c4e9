// weights.h
//
// The weights file of a generated extractor, in one place: its format
// version, the fingerprint that ties it to its generated code, and the
// generated reader (the extractor's Load). The writer, which needs LibTorch,
// is WriteWeightsFile in weights_writer.h, the one LibTorch part of this
// format; this header stays LibTorch-free for the emitter.
//
// The file is LibTorch's pickle (torch.save's zip archive) of a dict:
//   {"format_version": 1, "fingerprint": "<16 hex digits>",
//    "tensors": {"<get_attr target>": Tensor, ...}}
// The reader rejects, each with a c10::Error naming the file: a missing or
// unreadable (truncated) file, another format version, and a file written
// for other generated code (fingerprint mismatch).

#ifndef FEATX_CODEGEN_WEIGHTS_H_
#define FEATX_CODEGEN_WEIGHTS_H_

#include <string>
#include <utility>
#include <vector>

#include "codegen/printer.h"
#include "graph/graph.h"

namespace featx {

// The weights file format version that generated code accepts.
inline constexpr int kWeightsFormatVersion = 1;

// FNV-1a over everything generated code depends on: the graph's text, the
// output keys, the weight names, the format version and the optimization.
std::string WeightsFingerprint(const Graph& graph, const std::vector<std::string>& keys,
                               const std::vector<std::string>& weights, bool optimize,
                               bool channels_last_outputs);

// What the generated reader fills.
struct WeightsReader {
  std::string class_name;
  // (member, weights file entry), in entry order.
  std::vector<std::pair<std::string, std::string>> members;
  // Optimized code: (member of Optimized, its initializer expression).
  bool optimize = false;
  std::vector<std::pair<std::string, std::string>> prepacked;
};

// The constants the reader checks, for the generated anonymous namespace.
void EmitWeightsConstants(const std::string& fingerprint, Printer& p);

// The definition of <class>::Load.
void EmitWeightsReader(const WeightsReader& reader, Printer& p);

}  // namespace featx

#endif  // FEATX_CODEGEN_WEIGHTS_H_
