#!/usr/bin/env bash
# The command-line contract of `featx nodes` and `featx graph`:
#   - names on stdout, exit 0, nothing on stderr;
#   - bad input (missing, empty, truncated or non-TorchScript model): exit 1;
#   - bad usage (flag, command, missing model, flag value): exit 2;
#   - every error is exactly one line on stderr starting with "featx: ", with
#     nothing of a C++ backtrace, and nothing on stdout.
# Stops at the first mismatch and says what was run, expected and printed.
#
# Arguments (runfiles paths, from //tools:cli_test): the featx binary,
# seed_mymodule.pt, its torchvision names, seed_cnn.pt, and torchvision's names
# for seed_cnn with leaf_modules=["ConvBlock"]; then resnet18.pt and the
# effects model add_into_statement.pt (for `featx check`).
set -u

if [[ $# -lt 7 ]]; then
  echo "cli_test: expected 7 arguments (featx, seed_mymodule.pt, its names, seed_cnn.pt, ConvBlock names, resnet18.pt, add_into_statement.pt), got $#" >&2
  exit 1
fi
readonly FEATX=$1
readonly MYMODULE=$2
readonly MYMODULE_NAMES=$3
readonly CNN=$4
readonly CNN_CONVBLOCK_NAMES=$5
readonly RESNET18=$6
readonly ADD_INTO=$7
readonly TMP=${TEST_TMPDIR:-$(mktemp -d)}
readonly OUT=$TMP/stdout
readonly ERR=$TMP/stderr

checks=0
last_cmd=""

fail() {
  {
    echo "FAIL: $*"
    echo "  command: $last_cmd"
    echo "  exit code: $rc"
    echo "  --- stdout ---"
    head -c 4000 "$OUT"
    echo "  --- stderr ---"
    head -c 4000 "$ERR"
    echo "  --------------"
  } >&2
  exit 1
}

# Runs featx with the given arguments, recording stdout, stderr and the exit code.
run() {
  last_cmd="featx $*"
  "$FEATX" "$@" >"$OUT" 2>"$ERR"
  rc=$?
  checks=$((checks + 1))
}

expect_rc() {
  [[ $rc -eq $1 ]] || fail "expected exit code $1"
}

expect_stdout() {
  local expected=$1
  [[ "$(cat "$OUT")" == "$expected" ]] ||
    fail "stdout differs; expected:"$'\n'"$expected"
}

expect_empty_stderr() {
  [[ ! -s "$ERR" ]] || fail "expected nothing on stderr"
}

# An error: exit code $1, stdout empty, exactly one line on stderr that starts
# with "featx: " and shows no trace of a C++ exception.
expect_error() {
  local code=$1
  expect_rc "$code"
  [[ ! -s "$OUT" ]] || fail "expected nothing on stdout"
  local lines
  lines=$(wc -l <"$ERR")
  [[ $lines -eq 1 ]] || fail "expected exactly one line on stderr, got $lines"
  [[ "$(head -c 7 "$ERR")" == "featx: " ]] || fail "stderr does not start with 'featx: '"
  local pattern
  for pattern in "Exception raised from" "frame #" "terminate called" "what():" "Traceback"; do
    ! grep -qF "$pattern" "$ERR" || fail "stderr looks like a backtrace ('$pattern')"
  done
}

# The names of one mode in a torchvision names file ("<mode> <name>" lines).
torchvision_names() {
  sed -n "s/^$2 //p" "$1"
}

# --- Names ---------------------------------------------------------------------

readonly MYMODULE_EXPECTED="x
param
add
submodule.lin
submodule.relu
clamp"

# The issue's example, and torchvision's own answer for the same module.
run nodes "$MYMODULE"
expect_rc 0
expect_empty_stderr
expect_stdout "$MYMODULE_EXPECTED"
expect_stdout "$(torchvision_names "$MYMODULE_NAMES" eval)"

run nodes "$MYMODULE" --mode=train
expect_rc 0
expect_empty_stderr
expect_stdout "$(torchvision_names "$MYMODULE_NAMES" train)"

run nodes "$MYMODULE" --format=json
expect_rc 0
expect_empty_stderr
[[ $(wc -l <"$OUT") -eq 1 ]] || fail "expected the JSON on one line"
# Compared as JSON values, so spacing is free.
/usr/bin/python3 - "$OUT" "$MYMODULE_NAMES" <<'EOF' || fail "JSON output is not {\"train\": [...], \"eval\": [...]} with torchvision's names"
import json, sys
with open(sys.argv[1]) as f:
    got = json.load(f)
want = {"train": [], "eval": []}
with open(sys.argv[2]) as f:
    for line in f:
        mode, name = line.rstrip("\n").split(" ", 1)
        want[mode].append(name)
if got != want:
    print("cli_test: JSON mismatch; expected", json.dumps(want), file=sys.stderr)
    sys.exit(1)
EOF

run nodes "$CNN" --leaf_modules=ConvBlock
expect_rc 0
expect_empty_stderr
expect_stdout "x
blocks.0
blocks.1
blocks.2
blocks.3
global_pool
flatten
cls"
expect_stdout "$(torchvision_names "$CNN_CONVBLOCK_NAMES" eval)"

run graph "$MYMODULE"
expect_rc 0
expect_empty_stderr
[[ $(tail -n 1 "$OUT") == output\(* ]] || fail "expected the graph to end with its output node"
grep -q ' name=submodule\.relu\( \|$\)' "$OUT" || fail "expected a node named submodule.relu"

run --help
expect_rc 0
expect_empty_stderr
grep -q '^usage: featx' "$OUT" || fail "expected the usage text on stdout"

# --- Bad input: exit 1 ------------------------------------------------------------

head -c 1000 "$CNN" >"$TMP/truncated.pt"
: >"$TMP/empty.pt"
echo "this is not a model" >"$TMP/text.pt"
# Zips that are not TorchScript: a file at the top level, and a PyTorch-style
# archive/ folder without the records TorchScript needs.
/usr/bin/python3 - "$TMP" <<'EOF' || { echo "cli_test: cannot make the zip fixtures" >&2; exit 1; }
import sys, zipfile
with zipfile.ZipFile(sys.argv[1] + "/flat_zip.pt", "w") as z:
    z.writestr("notes.txt", "hello")
with zipfile.ZipFile(sys.argv[1] + "/archive_zip.pt", "w") as z:
    z.writestr("archive/data.txt", "hello")
EOF

for command in nodes graph; do
  for model in "$TMP/does_not_exist.pt" "$TMP/empty.pt" "$TMP/truncated.pt" "$TMP/text.pt" \
      "$TMP/flat_zip.pt" "$TMP/archive_zip.pt"; do
    run "$command" "$model"
    expect_error 1
    grep -qF "$model" "$ERR" || fail "expected the error to name the model file"
  done
done

# --- Bad usage: exit 2 ------------------------------------------------------------

run
expect_error 2
run nodes
expect_error 2
run frobnicate "$MYMODULE"
expect_error 2
run nodes "$MYMODULE" --no_such_flag=1
expect_error 2
run nodes "$MYMODULE" --no_such_flag
expect_error 2
run graph "$MYMODULE" --format=json
expect_error 2
run nodes "$MYMODULE" extra_argument
expect_error 2
run nodes "$MYMODULE" --mode=test
expect_error 2
run graph "$MYMODULE" --mode=test
expect_error 2
run nodes "$MYMODULE" --format=xml
expect_error 2
# Usage is checked before the model is read.
run nodes "$TMP/does_not_exist.pt" --mode=test
expect_error 2

# --- extract and codegen ------------------------------------------------------------

run extract "$MYMODULE" --return_nodes=submodule.lin:lin,clamp --out="$TMP/extractor.pt"
expect_rc 0
expect_empty_stderr
[[ -s "$TMP/extractor.pt" ]] || fail "extract wrote no $TMP/extractor.pt"
run run "$TMP/extractor.pt" --input_shape=3,4
expect_rc 0
expect_stdout "lin	shape=[3, 4]	dtype=float
clamp	shape=[3, 4]	dtype=float"
run extract "$MYMODULE" --return_nodes=submodule.lin
expect_error 2  # no --out
run extract "$MYMODULE" --return_nodes=no.such.node --out="$TMP/x.pt"
expect_error 1

mkdir -p "$TMP/gen"
run codegen "$MYMODULE" --return_nodes=submodule.relu:feat --class_name=MyModuleFeatures \
  --namespace=demo --out_dir="$TMP/gen" --input_shape=3,4
expect_rc 0
expect_empty_stderr
for f in my_module_features.h my_module_features.cc my_module_features.weights my_module_features.json; do
  [[ -s "$TMP/gen/$f" ]] || fail "codegen wrote no $f"
done
grep -q '"key": "feat", "node": "submodule.relu", "module": "submodule"' "$TMP/gen/my_module_features.json" ||
  fail "manifest lacks the output: $(cat "$TMP/gen/my_module_features.json")"
grep -q '"shape": \[3, 4\]' "$TMP/gen/my_module_features.json" || fail "manifest lacks the shape"
run codegen "$MYMODULE" --return_nodes=clamp --namespace=demo --out_dir="$TMP/gen"
expect_error 2  # no --class_name
run codegen "$MYMODULE" --return_nodes=clamp --class_name=X --namespace=demo --out_dir="$TMP/no/such/dir"
expect_error 1

# --- Operator libraries (--load_library) ----------------------------------------
# FEATX_DETECTOR: a model calling torchvision::nms; FEATX_TORCHVISION_OPS: a
# file holding the path of torchvision's C++ operator library. Both are set by
# //tools:cli_test's env.
if [[ -n "${FEATX_DETECTOR:-}" ]]; then
  readonly TORCHVISION_OPS=$(cat "$FEATX_TORCHVISION_OPS")
  run nodes "$FEATX_DETECTOR"
  expect_error 1
  grep -qF "Unknown builtin op: torchvision::nms" "$ERR" || fail "the error does not quote LibTorch's cause"
  run nodes "$FEATX_DETECTOR" --load_library="$TORCHVISION_OPS"
  expect_rc 0
  expect_empty_stderr
  grep -qx "images" "$OUT" || fail "the List[Tensor] input 'images' is not listed"
  grep -qx "nms" "$OUT" || fail "torchvision.ops.nms is not listed"
  run extract "$FEATX_DETECTOR" --load_library="$TORCHVISION_OPS" --return_nodes=add \
    --out="$TMP/detector_extractor.pt"
  expect_rc 0
  expect_empty_stderr
  # `run` feeds one tensor; the model takes List[Tensor]: the error names both.
  run run "$FEATX_DETECTOR" --load_library="$TORCHVISION_OPS" --input_shape=3,6,6
  expect_error 1
  grep -qF "images" "$ERR" && grep -qF "List[Tensor]" "$ERR" ||
    fail "the error does not name the input and its type"
  run nodes "$FEATX_DETECTOR" --load_library="$MYMODULE"  # not a shared library
  expect_error 1
  grep -qF "cannot load operator library" "$ERR" || fail "the error does not say what failed"
fi
# featx check: a line per value, ok, exit 0; usage errors exit 2.
run check "$MYMODULE" --return_nodes=submodule.lin:lin,clamp --input_shape=3,4
expect_rc 0
expect_empty_stderr
[[ "$(cut -f1,4 "$OUT")" == $'forward\tok\nlin\tok\nclamp\tok' ]] ||
  fail "check should list forward, lin and clamp as ok"
grep -q $'^lin\tmax_abs=0\tmax_rel=0\tok$' "$OUT" || fail "lin should not differ at all"
run check "$RESNET18" --return_nodes=layer1.0.bn1,layer1.0.conv2
expect_rc 0
expect_empty_stderr
[[ "$(cut -f1,4 "$OUT")" == $'forward\tok\nlayer1.0.bn1\tok\nlayer1.0.conv2\tok' ]] ||
  fail "check on resnet18 should pass with the default input shape"
run check "$ADD_INTO" --return_nodes=add,add_,add_1 --input_shape=2,3
expect_rc 0
[[ "$(cut -f4 "$OUT" | sort -u)" == "ok" ]] || fail "check on add_into_statement should pass"
run check "$MYMODULE" --input_shape=3,4
expect_error 2  # no --return_nodes
run check "$MYMODULE" --return_nodes=clamp --input_shape=3,x
expect_error 2
run check "$RESNET18" --return_nodes=layer1 --input_shape=1,5
expect_error 1  # the model cannot run on it
grep -q "input shape \[1, 5\]" "$ERR" || fail "the error should name the input shape"

# --- graph --print_after: the pass pipeline ------------------------------------
run graph "$RESNET18" --print_after=list
expect_rc 0
expect_empty_stderr
expect_stdout $'set-outputs\nprotect-outputs\ndead-code\ncollect-parameters'
run graph "$RESNET18" --print_after=list --backend=cpp
expect_rc 0
expect_stdout $'set-outputs\nprotect-outputs\ndead-code\ninline-torch-nn\nfold-batchnorm\nfuse-activations\ncollect-parameters'
run graph "$RESNET18" --print_after=fold-batchnorm --return_nodes=layer1
expect_error 2  # not a pass of the TorchScript pipeline
grep -q "passes: set-outputs, protect-outputs, dead-code, collect-parameters" "$ERR" ||
  fail "an unknown pass should list the pipeline's passes"
run graph "$RESNET18" --print_after=dead-code
expect_error 2  # no --return_nodes
run graph "$RESNET18" --print_after=dead-code --backend=python --return_nodes=layer1
expect_error 2
run graph "$RESNET18" --print_after=set-outputs --return_nodes=layer1.0.bn1,layer1.0.conv2
expect_rc 0
expect_empty_stderr
grep -q "call_module layer4" "$OUT" || fail "set-outputs erases nothing"
run graph "$RESNET18" --print_after=dead-code --return_nodes=layer1.0.bn1,layer1.0.conv2
expect_rc 0
! grep -q "layer4" "$OUT" || fail "dead-code should drop layer4"
grep -q "name=layer1.0.bn1_clone" "$OUT" || fail "bn1 is overwritten by relu_ and returned through a clone"
run graph "$RESNET18" --print_after=fuse-activations --backend=cpp --return_nodes=layer1.0.conv2
expect_rc 0
grep -q "featx::conv2d_relu" "$OUT" || fail "the optimized C++ pipeline fuses conv1+bn1+relu"
run graph "$RESNET18" --print_after=dead-code --return_nodes=layer9
expect_error 1

echo "cli_test: all $checks featx runs behaved as specified"
