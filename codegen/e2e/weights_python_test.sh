#!/bin/bash
# A generated weights file is LibTorch's own serialization: Python's torch.load
# reads it as a plain dict.
set -euo pipefail
/usr/bin/python3 - "$1" <<'PY'
import sys
import torch
d = torch.load(sys.argv[1])
assert d["format_version"] == 1, d["format_version"]
assert isinstance(d["fingerprint"], str) and len(d["fingerprint"]) == 16
names = sorted(d["tensors"])
assert "blocks.0.convs.0.0.weight" in names and "cls.weight" not in names, names
assert all(isinstance(t, torch.Tensor) for t in d["tensors"].values())
print("torch.load read %d tensors" % len(names))
PY
