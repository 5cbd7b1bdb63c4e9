// runfiles.h
//
// Finds a Bazel runfile (a `data` dependency, such as the .weights file of a
// cc_feature_extractor) from a binary started by `bazel run`, by `bazel test`,
// or directly as bazel-bin/path/to/binary. Header-only, standard library only:
// generated extractors and their users need no featx library for it.
//
// Example:
//   int main(int argc, char** argv) {
//     std::string weights = featx::FindRunfile(
//         "featx/examples/codegen/seed_cnn_features.weights", argv[0]);
//     if (weights.empty()) { ... not found ... }
//     auto extractor = examples::SeedCnnFeatures::Load(weights);
//
// The path is the runfile's path in the runfiles tree: the name of the
// workspace that holds the file (its `workspace(name = ...)`, or the name of
// the external repository), then its path in that workspace. A file generated
// into package `examples/codegen` of the workspace `featx` is
// "featx/examples/codegen/<file>"; in a workspace `consumer` that uses featx as
// @featx, its own generated files are "consumer/<package>/<file>".

#ifndef FEATX_CODEGEN_RUNFILES_H_
#define FEATX_CODEGEN_RUNFILES_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace featx {
namespace runfiles_internal {

inline bool IsFile(const std::string& path) {
  std::error_code error;
  return !path.empty() && std::filesystem::is_regular_file(path, error);
}

inline std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Looks `runfile` up in a runfiles manifest: one "<runfile path> <real path>"
// per line. Returns "" when the manifest or the entry is missing.
inline std::string LookUpManifest(const std::string& manifest, const std::string& runfile) {
  if (manifest.empty()) return "";
  std::ifstream in(manifest);
  const std::string prefix = runfile + " ";
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) {
      return line.substr(prefix.size());
    }
  }
  return "";
}

}  // namespace runfiles_internal

// Returns the path of the runfile `runfile` ("<workspace>/<path in it>"), or ""
// when no runfiles tree or manifest has it. An absolute `runfile` is returned
// as is if the file exists. `argv0` is main's argv[0], or nullptr.
//
// Looks, in order, in $RUNFILES_DIR (set by `bazel run` and for data deps of
// tools), $TEST_SRCDIR (`bazel test`), <argv0>.runfiles (a binary started
// directly), then the manifests $RUNFILES_MANIFEST_FILE,
// <argv0>.runfiles_manifest and <argv0>.runfiles/MANIFEST (builds without
// runfiles trees, --nobuild_runfile_links). The first existing file wins.
inline std::string FindRunfile(const std::string& runfile, const char* argv0) {
  namespace internal = runfiles_internal;
  if (!runfile.empty() && runfile[0] == '/') {
    return internal::IsFile(runfile) ? runfile : "";
  }
  const std::string binary = argv0 == nullptr ? "" : argv0;

  std::vector<std::string> dirs = {internal::GetEnv("RUNFILES_DIR"),
                                   internal::GetEnv("TEST_SRCDIR")};
  if (!binary.empty()) dirs.push_back(binary + ".runfiles");
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    std::string path = dir + "/" + runfile;
    if (internal::IsFile(path)) return path;
  }

  std::vector<std::string> manifests = {internal::GetEnv("RUNFILES_MANIFEST_FILE")};
  if (!binary.empty()) {
    manifests.push_back(binary + ".runfiles_manifest");
    manifests.push_back(binary + ".runfiles/MANIFEST");
  }
  for (const std::string& manifest : manifests) {
    std::string path = internal::LookUpManifest(manifest, runfile);
    if (internal::IsFile(path)) return path;
  }
  return "";
}

}  // namespace featx

#endif  // FEATX_CODEGEN_RUNFILES_H_
