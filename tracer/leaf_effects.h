// leaf_effects.h
//
// What a leaf call (one call_module or call_function node whose body featx
// does not look into) may do to its inputs, for pruning's in-place safety:
//   - write its first argument: a leaf asked to work in place (`inplace`,
//     a module's flag or the call's keyword), and any leaf of the user's own,
//     which featx cannot see into;
//   - return its first argument or a view of it: any leaf not known to
//     return a fresh tensor. Identity, Flatten and Permute return views,
//     Dropout and StochasticDepth return their input in eval mode, and
//     efficientnet's `result += input` after an eval StochasticDepth writes
//     through it.
// The known-fresh leaves and the libraries whose leaves write only when
// asked are one table in leaf_effects.cc. No LibTorch.
//
// Example:
//   LeafEffects e = EffectsOfLeaf(LeafKind::kModule,
//                                 "torch.nn.modules.activation.ReLU", /*inplace=*/true);
//   // e.mutates == {0}, e.alias_of == 0

#ifndef FEATX_TRACER_LEAF_EFFECTS_H_
#define FEATX_TRACER_LEAF_EFFECTS_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace featx {

enum class LeafKind { kModule, kFunction };

// As NodeInit::mutates and NodeInit::alias_of.
struct LeafEffects {
  std::vector<int> mutates;
  int alias_of = -1;
};

// `name` is the leaf's demangled qualified name: a module's class
// ("torchvision.ops.misc.Conv2dNormActivation"; torchvision's own subclasses
// of torchvision.ops classes count as their base) or a function
// ("torch.nn.functional.relu"). `inplace` is true if the module's `inplace`
// flag or the call's `inplace` argument is true.
LeafEffects EffectsOfLeaf(LeafKind kind, absl::string_view name, bool inplace);

}  // namespace featx

#endif  // FEATX_TRACER_LEAF_EFFECTS_H_
