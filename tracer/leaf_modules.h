// tracer/leaf_modules.h
//
// What the tracer checks before it walks a module: that it has a forward
// method, and that every TraceOptions::leaf_modules entry names something in
// it. A leaf module that matches nothing is almost always a typo, and used to
// be ignored silently.
//
// Example:
//   absl::Status s = featx::CheckTraceable(model, {.leaf_modules = {"ConvBlok"}});
//   // NotFound: "leaf module 'ConvBlok' matches no module class or path in the
//   // model; closest class names: 'ConvBlock', 'Conv2d', 'ReLU'"

#ifndef FEATX_TRACER_LEAF_MODULES_H_
#define FEATX_TRACER_LEAF_MODULES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "torch/csrc/jit/api/module.h"
#include "tracer/tracer.h"

namespace featx {

// True if the leaf_modules entry `leaf` names the module at `path` ("blocks.0")
// whose demangled class is `cls` ("__main__.ConvBlock" is saved as
// "ConvBlock"; "torch.nn.modules.conv.Conv2d"): by path, by the class's short
// or qualified name, or "__torch__." / "__main__." plus it.
bool LeafModuleMatches(absl::string_view leaf, absl::string_view cls, absl::string_view path);

// InvalidArgument if `module` has no forward method (listing the methods it
// has); NotFound if an entry of options.leaf_modules matches no module of
// `module` (itself included), listing up to 3 class names closest to it by
// edit distance. Trace calls it.
absl::Status CheckTraceable(const torch::jit::Module& module, const TraceOptions& options);

}  // namespace featx

#endif  // FEATX_TRACER_LEAF_MODULES_H_
