#!/bin/bash
# Runs //examples:seed_cnn and checks every list it prints against what
# torchvision itself prints for the seed (fixtures/seed_expected.json).
set -euo pipefail
out=$("$1")
echo "$out"
/usr/bin/python3 - "$2" <<PY "$out"
import ast, json, sys
expected = json.load(open(sys.argv[1]))
lines = [l for l in sys.argv[2].splitlines() if l.startswith("[")]
assert len(lines) == 2, "expected two printed lists, got %d" % len(lines)
for key, line in zip(["cnn", "cnn_leaf_convblock"], lines):
    got = ast.literal_eval(line)
    assert got == expected[key], "%s differs:\n got      %s\n expected %s" % (key, got, expected[key])
shapes = {}
for l in sys.argv[2].splitlines():
    if l.startswith("blocks.") and ": [" in l:
        key, dims = l.split(": ")
        shapes[key] = ast.literal_eval(dims)
assert shapes == expected["cnn_features"], "block shapes differ:\n got      %s\n expected %s" % (shapes, expected["cnn_features"])
print("seed_cnn output matches seed_expected.json")
PY
