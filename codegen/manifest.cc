#include "codegen/manifest.h"

#include "nlohmann/json.hpp"

namespace featx {
namespace {

nlohmann::ordered_json FeatureDescriptionJson(const FeatureDescription& f) {
  nlohmann::ordered_json j;
  j["key"] = f.key;
  j["node"] = f.node;
  j["module"] = f.module;
  j["module_type"] = f.module_type;
  if (!f.dtype.empty()) {
    j["dtype"] = f.dtype;
    j["shape"] = f.shape;
  }
  if (f.channels.has_value()) j["channels"] = *f.channels;
  if (f.stride.has_value()) j["stride"] = *f.stride;
  return j;
}

}  // namespace

std::string ManifestJson(const Manifest& manifest) {
  nlohmann::ordered_json j;
  j["model"] = manifest.model_file;
  j["class"] = manifest.class_name;
  j["namespace"] = manifest.namespace_name;
  j["mode"] = manifest.mode;
  j["input_shape"] = manifest.input_shape;
  j["outputs"] = nlohmann::ordered_json::array();
  for (const FeatureDescription& f : manifest.outputs)
    j["outputs"].push_back(FeatureDescriptionJson(f));
  // Model-supplied names may hold invalid UTF-8: replace, never throw.
  return j.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace featx
