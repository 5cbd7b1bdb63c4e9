// ops_subclasses.h
//
// torchvision's own subclasses of torchvision.ops modules. torchvision's
// feature extraction keeps an instance of any class exported by
// torchvision.ops whole, subclasses included (it tests `isinstance`), so
// regnet's SimpleStemIN (a Conv2dNormActivation) is one node there.
// TorchScript records a class's name but not its bases, so featx cannot see
// that relation in a scripted model; this is the one table of the subclasses
// torchvision defines. //tracer:ops_subclasses_test checks it against the
// installed torchvision. A user's own subclass of a torchvision.ops class is
// not known: name it in TraceOptions::leaf_modules.
//
// Example:
//   featx::TorchvisionOpsBase("torchvision.models.regnet.SimpleStemIN")
//   // == "torchvision.ops.misc.Conv2dNormActivation"

#ifndef FEATX_TRACER_OPS_SUBCLASSES_H_
#define FEATX_TRACER_OPS_SUBCLASSES_H_

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace featx {

// The torchvision.ops class that `demangled_class` (a qualified Python class
// name without TorchScript's "__torch__." and mangling) subclasses, if it is
// one of torchvision's own subclasses; otherwise "".
absl::string_view TorchvisionOpsBase(absl::string_view demangled_class);

// The whole table, {subclass, base} pairs sorted by subclass.
std::vector<std::pair<absl::string_view, absl::string_view>> TorchvisionOpsSubclasses();

}  // namespace featx

#endif  // FEATX_TRACER_OPS_SUBCLASSES_H_
