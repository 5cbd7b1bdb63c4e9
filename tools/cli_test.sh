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
# effects model add_into_statement.pt (for `featx check`); then PyTorch's
# own node shapes for seed_cnn (1,3,32,32) and resnet18 (1,3,224,224)
# (//fixtures:*_shapes, from torchvision's create_feature_extractor).
set -u

if [[ $# -lt 9 ]]; then
  echo "cli_test: expected 9 arguments (featx, seed_mymodule.pt, its names, seed_cnn.pt, ConvBlock names, resnet18.pt, add_into_statement.pt, seed_cnn_shapes.txt, resnet18_shapes.txt), got $#" >&2
  exit 1
fi
readonly FEATX=$1
readonly MYMODULE=$2
readonly MYMODULE_NAMES=$3
readonly CNN=$4
readonly CNN_CONVBLOCK_NAMES=$5
readonly RESNET18=$6
readonly ADD_INTO=$7
readonly CNN_SHAPES=$8
readonly RESNET18_SHAPES=$9
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
/usr/bin/python3 - "$OUT" "$MYMODULE_NAMES" <<'EOF' || fail "JSON output is not {\"train\": [...], \"eval\": [...], \"nodes\": [...]} with torchvision's names"
import json, sys
with open(sys.argv[1]) as f:
    got = json.load(f)
want = {"train": [], "eval": []}
with open(sys.argv[2]) as f:
    for line in f:
        mode, name = line.rstrip("\n").split(" ", 1)
        want[mode].append(name)
if {k: got.get(k) for k in want} != want:
    print("cli_test: JSON mismatch; expected", json.dumps(want), file=sys.stderr)
    sys.exit(1)
rows = got["nodes"]
if [r["name"] for r in rows] != want["eval"]:
    print("cli_test: the rows are not the eval nodes", file=sys.stderr)
    sys.exit(1)
fields = ["name", "opcode", "target", "module", "type", "dtype", "shape", "channels", "stride"]
if any(list(r) != fields for r in rows) or any(r["shape"] is not None for r in rows):
    print("cli_test: rows need", fields, "and no shape without --input_shape", file=sys.stderr)
    sys.exit(1)
# The module's parameter, its Linear leaf and its clamp.
by_name = {r["name"]: r for r in rows}
assert by_name["param"]["opcode"] == "get_attr", by_name["param"]
assert by_name["submodule.lin"]["opcode"] == "call_module", by_name["submodule.lin"]
assert by_name["submodule.lin"]["target"] == "Linear", by_name["submodule.lin"]
assert by_name["submodule.lin"]["module"] == "submodule.lin", by_name["submodule.lin"]
assert by_name["clamp"]["target"].startswith("aten::clamp"), by_name["clamp"]
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
/usr/bin/python3 - "$TMP/gen/my_module_features.json" <<'EOF' || fail "manifest: $(cat "$TMP/gen/my_module_features.json")"
import json, sys
m = json.load(open(sys.argv[1]))
want = {"model": "seed_mymodule.pt", "class": "MyModuleFeatures", "namespace": "demo",
        "mode": "eval", "input_shape": [3, 4],
        "outputs": [{"key": "feat", "node": "submodule.relu", "module": "submodule",
                     "module_type": "", "dtype": "float", "shape": [3, 4]}]}
if m != want:
    print("cli_test: manifest differs; expected", json.dumps(want), file=sys.stderr)
    sys.exit(1)
EOF
run codegen "$MYMODULE" --return_nodes=clamp --namespace=demo --out_dir="$TMP/gen"
expect_error 2  # no --class_name
# A missing --out_dir is created, parents too (mkdir -p).
run codegen "$MYMODULE" --return_nodes=clamp --class_name=X --namespace=demo --out_dir="$TMP/no/such/dir"
expect_rc 0
expect_empty_stderr
[[ -s "$TMP/no/such/dir/x.h" && -s "$TMP/no/such/dir/x.json" ]] || fail "codegen did not create the missing --out_dir"
# One that cannot be created or written: the OS's reason.
: >"$TMP/plain_file"
run codegen "$MYMODULE" --return_nodes=clamp --class_name=X --namespace=demo --out_dir="$TMP/plain_file/sub"
expect_error 1
grep -qF "cannot create directory '$TMP/plain_file/sub': Not a directory" "$ERR" || fail "expected the OS's reason"
mkdir -p "$TMP/blocked/x.h"
run codegen "$MYMODULE" --return_nodes=clamp --class_name=X --namespace=demo --out_dir="$TMP/blocked"
expect_error 1
grep -qF "cannot write '$TMP/blocked/x.h': Is a directory" "$ERR" || fail "expected the OS's reason"
if [[ $EUID -ne 0 ]]; then  # root writes anywhere
  mkdir -p "$TMP/readonly" && chmod a-w "$TMP/readonly"
  run codegen "$MYMODULE" --return_nodes=clamp --class_name=X --namespace=demo --out_dir="$TMP/readonly"
  expect_error 1
  grep -qF "cannot write '$TMP/readonly/x.h': Permission denied" "$ERR" || fail "expected EACCES"
fi

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

# --- Flags: unknown for a command, bad values (exit 2) ---------------------------

run nodes "$MYMODULE" --threads=2  # a flag of another command
expect_error 2
grep -qF "unknown flag --threads for 'nodes'" "$ERR" || fail "expected the flag and the command"
run run "$MYMODULE" --input_shape=3,4 --threads=x
expect_error 2
grep -qF "bad value 'x' for --threads: want an integer" "$ERR" || fail "expected the value and what is wanted"
run run "$MYMODULE" --input_shape=3,0
expect_error 2
grep -qF "bad value '3,0' for --input_shape" "$ERR" || fail "expected the bad shape"
run graph "$MYMODULE" --bodies=maybe
expect_error 2
run graph "$MYMODULE" --bodies  # a bare boolean flag means true
expect_rc 0
run extract "$MYMODULE" --return_nodes=clamp --out="$TMP/e.pt" --optimize=fast
expect_error 2
run nodes "$MYMODULE" -x
expect_error 2
run nodes --help
expect_rc 0
grep -q '^usage: featx nodes MODEL.pt' "$OUT" && grep -q -- '--filter=GLOB' "$OUT" ||
  fail "expected the nodes command's usage"
! grep -q -- '--class_name' "$OUT" || fail "nodes --help lists another command's flag"

# --- nodes --format=table|json with shapes (issue 11) ------------------------------
# Shapes against PyTorch's own (create_feature_extractor on the same input).

check_rows_against_pytorch() {  # json file, reference shapes file, input height
  /usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))["nodes"]
height = int(sys.argv[3])
ref = [line.rstrip("\n").split("\t") for line in open(sys.argv[2])]
dtypes = {"torch.float32": "float", "torch.float64": "double", "torch.int64": "long"}
if [r["name"] for r in got] != [r[0] for r in ref]:
    sys.exit("names differ from torchvision's: %s" % [r["name"] for r in got])
for row, (name, dtype, shape) in zip(got, ref):
    if dtype == "-":
        continue
    want_shape = [int(d) for d in shape.split(",")]
    if row["dtype"] != dtypes[dtype] or row["shape"] != want_shape:
        sys.exit("%s: featx %s %s, PyTorch %s %s" % (name, row["dtype"], row["shape"], dtype, want_shape))
    want_channels = want_shape[1] if len(want_shape) == 4 else None
    want_stride = height // want_shape[2] if len(want_shape) == 4 else None
    if row["channels"] != want_channels or row["stride"] != want_stride:
        sys.exit("%s: channels/stride %s/%s, want %s/%s" % (name, row["channels"], row["stride"], want_channels, want_stride))
EOF
}

run nodes "$CNN" --format=json --input_shape=1,3,32,32
expect_rc 0
expect_empty_stderr
cp "$OUT" "$TMP/cnn_nodes.json"
check_rows_against_pytorch "$TMP/cnn_nodes.json" "$CNN_SHAPES" 32 || fail "seed_cnn shapes differ from PyTorch's"
run nodes "$RESNET18" --format=json --input_shape=1,3,224,224
expect_rc 0
cp "$OUT" "$TMP/resnet18_nodes.json"
check_rows_against_pytorch "$TMP/resnet18_nodes.json" "$RESNET18_SHAPES" 224 || fail "resnet18 shapes differ from PyTorch's"

# The table carries the same rows, aligned under its header.
run nodes "$CNN" --format=table --input_shape=1,3,32,32
expect_rc 0
expect_empty_stderr
/usr/bin/python3 - "$OUT" "$TMP/cnn_nodes.json" <<'EOF' || fail "the table is not the JSON's rows in aligned columns"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rows = json.load(open(sys.argv[2]))["nodes"]
header = lines[0]
titles = ["name", "opcode", "target", "module", "dtype", "shape", "channels", "stride"]
starts = [header.index(t) for t in titles]
assert header.split() == titles, header
assert len(lines) == len(rows) + 1, (len(lines), len(rows))
for line, row in zip(lines[1:], rows):
    cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
    shape = "[%s]" % ", ".join(str(d) for d in row["shape"])
    want = [row["name"], row["opcode"], row["target"], row["module"], row["dtype"], shape,
            str(row["channels"] or ""), str(row["stride"] or "")]
    assert cells == want, (cells, want)
EOF
grep -q '^blocks\.1\.downsample  *call_module  *MaxPool2d  *blocks\.1\.downsample  *float  *\[1, 128, 8, 8\]  *128  *4$' "$OUT" ||
  fail "expected blocks.1.downsample's row"
# Without --input_shape the shape columns are blank.
run nodes "$CNN" --format=table
expect_rc 0
! grep -q '\[' "$OUT" || fail "expected no shapes without --input_shape"
# Long cells end in an ellipsis.
run nodes "$RESNET18" --format=table --filter='layer2.0.downsample.*'
expect_rc 0
expect_stdout "name                   opcode       target       module                dtype  shape  channels  stride
layer2.0.downsample.0  call_module  Conv2d       layer2.0.downsample…
layer2.0.downsample.1  call_module  BatchNorm2d  layer2.0.downsample…"
run nodes "$RESNET18" --input_shape=1,3,224,224
expect_error 2  # shapes need --format=table or json
run nodes "$RESNET18" --format=table --input_shape=1,5
expect_error 1
grep -qF "input shape [1, 5]" "$ERR" || fail "expected the input shape in the error"

# --- nodes --filter, --op; return_nodes glob: (issue 11) -----------------------------
# Expected names: torchvision's (the shapes file's first column), matched by
# Python's fnmatch and a regular expression.
run nodes "$RESNET18" --filter='layer3.*.add'
expect_rc 0
expect_stdout "$(cut -f1 "$RESNET18_SHAPES" | /usr/bin/python3 -c '
import fnmatch, sys
print("\n".join(n for n in sys.stdin.read().split() if fnmatch.fnmatchcase(n, "layer3.*.add")))')"
expect_stdout "layer3.0.add
layer3.1.add"
run nodes "$RESNET18" --op=relu
expect_rc 0
expect_stdout "$(cut -f1 "$RESNET18_SHAPES" | grep -E '(^|\.)relu(_[0-9]+)?$')"
[[ $(wc -l <"$OUT") -eq 17 ]] || fail "resnet18 has 17 ReLU calls"
run nodes "$RESNET18" --op=conv2d --filter='layer4.*'
expect_rc 0
expect_stdout "$(cut -f1 "$RESNET18_SHAPES" | grep -E '^layer4\..*conv[0-9]$|^layer4\..*downsample\.0$')"
run nodes "$RESNET18" --format=json --filter='layer1.0.*'
expect_rc 0
/usr/bin/python3 - "$OUT" <<'EOF' || fail "the filter applies to every list of the JSON"
import json, sys
got = json.load(open(sys.argv[1]))
for names in (got["train"], got["eval"], [r["name"] for r in got["nodes"]]):
    assert names and all(n.startswith("layer1.0.") for n in names), names
EOF
# glob: in return_nodes: every match, keyed by name, shapes as PyTorch's.
run run "$RESNET18" --return_nodes=glob:layer3.*.add,fc --input_shape=1,3,224,224
expect_rc 0
expect_stdout "$(awk -F'\t' '$1 == "layer3.0.add" || $1 == "layer3.1.add" || $1 == "fc" {
  n = split($3, d, ","); s = d[1]; for (i = 2; i <= n; i++) s = s ", " d[i];
  line = $1 "\tshape=[" s "]\tdtype=float";
  if (n == 4) line = line "\tchannels=" d[2] "\tstride=" 224 / d[3];
  print line }' "$RESNET18_SHAPES")"
run run "$RESNET18" --return_nodes=glob:layer9.* --input_shape=1,3,224,224
expect_error 1
grep -qF "no node name matches 'glob:layer9.*'" "$ERR" || fail "expected the pattern in the error"

# --- graph --format=dot|svg|png (issue 11) ---------------------------------------

run graph "$CNN" --format=dot --return_nodes=blocks.1
expect_rc 0
expect_empty_stderr
cp "$OUT" "$TMP/cnn.dot"
/usr/bin/python3 - "$TMP/cnn.dot" <<'EOF' || fail "the seed CNN's DOT lacks clusters, the output or pruned nodes"
import re, sys
dot = open(sys.argv[1]).read()
clusters = re.findall(r'subgraph cluster_\d+ \{\n\s*label="([^"]*)";', dot)
for c in ["blocks", "blocks.0", "blocks.1", "blocks.1.convs", "blocks.1.convs.2", "blocks.3"]:
    assert c in clusters, (c, clusters)
boxes = dict(re.findall(r'\n\s*(n\d+) \[label="([^"]*)"', dot))
attrs = {name.split("\\n")[0]: line for line in dot.splitlines()
         for box, name in boxes.items() if line.strip().startswith(box + " [")}
out = [n for n, line in attrs.items() if 'class="featx-output"' in line]
assert out == ["blocks.1.downsample"], out
assert "=> blocks.1" in attrs["blocks.1.downsample"]
pruned = sorted(n for n, line in attrs.items() if 'class="featx-pruned"' in line)
want = sorted(n for n in attrs if n.startswith(("blocks.2", "blocks.3")) or
              n in ("global_pool", "flatten", "cls", "output"))
assert pruned == want, (pruned, want)
EOF
run graph "$RESNET18" --format=dot --depth=2 --return_nodes=layer2,layer3.0.add:mid
expect_rc 0
/usr/bin/python3 - "$OUT" <<'EOF' || fail "resnet18 --depth=2 should be one box per block in one cluster per stage"
import re, sys
dot = open(sys.argv[1]).read()
clusters = re.findall(r'label="([^"]*)";', dot)
assert clusters == ["layer1", "layer2", "layer3", "layer4"], clusters
boxes = re.findall(r'\n\s*([nm]\d+) \[label="([^"\\]*)', dot)
names = [b[1] for b in boxes]
assert len(boxes) <= 20 and "layer1.0.conv1" not in dot, names
assert names.count("layer2.1") == 1 and names.count("layer4.1") == 1, names
line = lambda name: next(l for l in dot.splitlines() if '[label="%s\\n' % name in l)
assert 'featx-output' in line("layer2.1") and "=> layer2" in line("layer2.1")
assert 'featx-output' in line("layer3.0") and "=> mid" in line("layer3.0")
assert 'featx-pruned' in line("layer3.1") and 'featx-pruned' in line("fc")
assert 'featx-' not in line("layer1.0") and 'featx-' not in line("conv1")
EOF
run graph "$CNN" --format=svg --return_nodes=blocks.1 --out="$TMP/cnn.svg"
expect_rc 0
expect_empty_stderr
# Graphviz 2.43 drops `class` from SVG; the colours stay: one amber output, 18 grey nodes
# (blocks.2, blocks.3, global_pool, flatten, cls, output).
grep -q '<svg' "$TMP/cnn.svg" && [[ $(grep -c 'fill="#ffe082"' "$TMP/cnn.svg") -eq 1 ]] &&
  [[ $(grep -c 'fill="#f5f5f5"' "$TMP/cnn.svg") -eq 18 ]] || fail "expected an SVG with one output and 18 greyed nodes"
run graph "$CNN" --format=png --out="$TMP/cnn.png"
expect_rc 0
[[ "$(head -c 4 "$TMP/cnn.png" | tail -c 3)" == "PNG" ]] || fail "expected a PNG"
PATH=/nonexistent run graph "$CNN" --format=svg --out="$TMP/x.svg"
expect_error 1
grep -qF "needs Graphviz's \`dot\` on PATH" "$ERR" || fail "expected a clear error without dot"
run graph "$CNN" --format=svg
expect_error 2  # no --out
run graph "$CNN" --depth=2
expect_error 2  # a picture flag with --format=text
run graph "$CNN" --format=dot --depth=-1
expect_error 2
run graph "$CNN" --format=dot --return_nodes=blocks.9
expect_error 1

echo "cli_test: all $checks featx runs behaved as specified"
