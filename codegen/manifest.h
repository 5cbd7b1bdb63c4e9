// manifest.h
//
// What an extractor returns, per output key (FeatureDescription, which
// featx::FeatureInfo computes), and the codegen manifest that lists it
// (<stem>.json, written next to generated C++). No LibTorch: the shapes come
// from the caller. The JSON is built with nlohmann-json (not exposed here),
// keys in a fixed order, so the same input gives the same bytes.
//
// Example:
//   std::string json = featx::ManifestJson({.model_file = "resnet18.pt",
//                                           .class_name = "ResNet18Features", ...});
//   // {
//   //   "model": "resnet18.pt",
//   //   "class": "ResNet18Features",
//   //   ...
//   //   "outputs": [{"key": "layer1", "node": "layer1.1.relu_1", ...}]
//   // }

#ifndef FEATX_CODEGEN_MANIFEST_H_
#define FEATX_CODEGEN_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace featx {

// One output of an extractor, as timm's feature_info describes it.
struct FeatureDescription {
  std::string key;          // the output key: "layer1", "final", "fpn.0"
  std::string node;         // the node it comes from: "layer1.1.relu_1"
  std::string module;       // module path: a leaf module's own, else the node's scope
  std::string module_type;  // a leaf module's class ("BasicBlock", "Conv2d"); else empty
  // Known only when an input shape was given (the extractor ran once):
  std::string dtype;           // "float"
  std::vector<int64_t> shape;  // [1, 64, 56, 56]
  // For a 4-d output of a 4-d input: its channels (dim 1) and its stride
  // relative to the input (input height / output height).
  std::optional<int64_t> channels;
  std::optional<int64_t> stride;
};

// The codegen manifest's contents.
struct Manifest {
  std::string model_file;            // "resnet18.pt"
  std::string class_name;            // "ResNet18Features"
  std::string namespace_name;        // "vision"
  std::string mode;                  // "eval" or "train"
  std::vector<int64_t> input_shape;  // may be empty
  std::vector<FeatureDescription> outputs;
};

// The manifest as JSON text: two-space indent, a final newline. Each output's
// fields in this order: key, node, module, module_type, then dtype and shape
// if known, then channels and stride if known.
std::string ManifestJson(const Manifest& manifest);

}  // namespace featx

#endif  // FEATX_CODEGEN_MANIFEST_H_
