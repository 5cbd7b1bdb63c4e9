#!/usr/bin/env bash
# Fails if the layers that must not use LibTorch (graph, naming, pruning,
# passes, codegen:cpp; see visibility.bzl) reach @libtorch: $1 is the
# genquery's answer, the @libtorch targets they reach, which must be empty.
set -eu
if [[ -s "$1" ]]; then
  echo "layers_test: a LibTorch-free layer depends on:" >&2
  cat "$1" >&2
  exit 1
fi
echo "layers_test: graph, naming, pruning, passes and codegen:cpp do not reach LibTorch"
