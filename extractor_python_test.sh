#!/usr/bin/env bash
# An extractor written by `featx extract` loads and runs in Python's
# torch.jit.load and matches the reference: vit_b_16's set of
# fixtures/feature_sets.txt, where torchvision's own FX cannot trace the model.
#
# Args: FEATX FEATURE_SETS MODEL.pt REFERENCE.pt CHECK_SCRIPT
set -euo pipefail

readonly featx="$1" sets="$2" model="$3" reference="$4" check="$5"

# The set's index counts set lines only, as make_reference_features.py does.
index=$(grep -v -e '^#' -e '^$' "$sets" | grep -n '^vit_b_16 ' | head -1 | cut -d: -f1)
nodes=$(grep -v -e '^#' -e '^$' "$sets" | grep '^vit_b_16 ' | head -1 | cut -d' ' -f3)
[[ -n "$index" && -n "$nodes" ]] || { echo "no vit_b_16 line in $sets" >&2; exit 1; }

out="$TEST_TMPDIR/vit_b_16_extractor.pt"
"$featx" extract "$model" --return_nodes="$nodes" --out="$out"
/usr/bin/python3 "$check" "$out" "$reference" "$sets" $((index - 1))
