#!/usr/bin/env bash
# //examples/codegen:codegen prints, for each generated extractor, the key and
# shape of every feature, in return_nodes order.
set -euo pipefail

expected='examples::SeedCnnFeatures on zeros[1, 3, 32, 32]:
  blocks.0: [1, 64, 16, 16]
  blocks.1: [1, 128, 8, 8]
  blocks.2: [1, 256, 4, 4]
  blocks.3: [1, 512, 2, 2]
vision::ResNet18Features on zeros[1, 3, 224, 224]:
  layer1: [1, 64, 56, 56]
  layer2.0.add: [1, 128, 28, 28]
  layer4: [1, 512, 7, 7]'

actual=$("$1")
if [[ "$actual" != "$expected" ]]; then
  echo "FAIL: //examples/codegen printed" >&2
  echo "$actual" >&2
  echo "expected" >&2
  echo "$expected" >&2
  exit 1
fi
echo PASS
