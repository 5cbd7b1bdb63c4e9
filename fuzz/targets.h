// fuzz/targets.h
//
// The bodies of featx's libFuzzer targets (issue 10, point 4), as plain
// functions so that they also run in the ordinary build: each *_fuzzer binary
// is libFuzzer's driver around one of them under --config=fuzz, and replays
// files given on its command line otherwise (replay_main.cc), which is how
// //fuzz:*_regression_test replays the seed corpus and fuzz/testdata/ in
// `./bazelw test //...`.
//
// Each function takes any bytes and returns 0. It must not crash: bad input is
// an absl::Status, and featx's answers must keep their invariants (a parsed
// entry prints back to itself, a printed graph parses back to the same text).
// A broken invariant aborts, which libFuzzer reports as a crash.

#ifndef FEATX_FUZZ_TARGETS_H_
#define FEATX_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>

namespace featx::fuzz {

// The return_nodes parser (naming/select.h's ParseReturnNodes), then
// SelectOutputs against a small named graph (lookup, closest names, globs).
int FuzzReturnNodes(const uint8_t* data, size_t size);

// The graph text parser (graph/text.h): ParseGraph; a graph it accepts prints,
// parses back and prints to the same text.
int FuzzGraphText(const uint8_t* data, size_t size);

// Model bytes -> featx::LoadModel (through a temporary file) -> trace ->
// GetGraphNodeNames: LibTorch's loader may throw; featx must answer a Status.
int FuzzModel(const uint8_t* data, size_t size);

}  // namespace featx::fuzz

#endif  // FEATX_FUZZ_TARGETS_H_
