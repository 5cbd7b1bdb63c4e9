#!/usr/bin/env bash
# Issue 10, point 8, across processes: every command whose output featx
# promises to be deterministic is run twice, in two processes, and the outputs
# are compared byte for byte:
#   featx nodes (json, and the table with shapes), featx graph (text, dot),
#   featx extract (the saved TorchScript archive, plain and optimized),
#   featx codegen (all four files; the two runs write into directories of
#   different names, and no file may mention its directory or the temp dir).
# Arguments (runfiles paths, from :cli_determinism_test): the featx binary,
# then TorchScript models.
set -u

if [[ $# -lt 2 ]]; then
  echo "cli_determinism_test: expected the featx binary and at least one model, got $#" >&2
  exit 1
fi
readonly FEATX=$1
shift
readonly TMP=${TEST_TMPDIR:-$(mktemp -d)}
checks=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run OUT ARGS...: featx ARGS with stdout to OUT; fails on a non-zero exit.
run() {
  local out=$1
  shift
  "$FEATX" "$@" >"$out" 2>"$out.err" || fail "featx $* exited $? ($(head -c 500 "$out.err"))"
}

# twice NAME ARGS...: featx ARGS in two processes; their stdout must be equal
# and not empty.
twice() {
  local name=$1
  shift
  run "$TMP/$name.1" "$@"
  run "$TMP/$name.2" "$@"
  [[ -s "$TMP/$name.1" ]] || fail "featx $* printed nothing"
  cmp "$TMP/$name.1" "$TMP/$name.2" >/dev/null || {
    diff "$TMP/$name.1" "$TMP/$name.2" | head -20 >&2
    fail "featx $*: output differs between two processes"
  }
  checks=$((checks + 1))
}

# same_file A B WHAT: byte-identical non-empty files.
same_file() {
  [[ -s "$1" ]] || fail "$3: $1 is missing or empty"
  cmp "$1" "$2" >/dev/null || fail "$3: $1 and $2 differ"
  checks=$((checks + 1))
}

i=0
for model in "$@"; do
  i=$((i + 1))
  case "$model" in
    *resnet*) nodes="layer1.0.bn1,layer2,layer4:final" ;;
    *mobilenet*) nodes="features.6,features.12" ;;
    *) fail "no return nodes known for $model" ;;
  esac

  # Every command on the first model; names, graph text and plain code on the
  # others (each featx run loads LibTorch: keep the test short under ASan).
  optimizations="none"
  twice "nodes_json_$i" nodes "$model" --format=json
  twice "graph_$i" graph "$model"
  if [[ $i -eq 1 ]]; then
    optimizations="none inference"
    twice "nodes_train_$i" nodes "$model" --mode=train
    twice "nodes_table_$i" nodes "$model" --format=table --input_shape=1,3,32,32
    run "$TMP/dot.out" graph "$model" --format=dot --return_nodes="$nodes" --out="$TMP/g1_$i.dot"
    run "$TMP/dot.out" graph "$model" --format=dot --return_nodes="$nodes" --out="$TMP/g2_$i.dot"
    same_file "$TMP/g1_$i.dot" "$TMP/g2_$i.dot" "featx graph --format=dot ($model)"
  fi

  for optimize in $optimizations; do
    # Same file name in two directories: LibTorch names the archive's top
    # folder after the file (e.pt holds e/data.pkl, e/code/...).
    for run_dir in "$TMP/extract1_${i}_$optimize" "$TMP/extract2_${i}_$optimize"; do
      mkdir -p "$run_dir"
      run "$TMP/extract.out" extract "$model" --return_nodes="$nodes" --optimize="$optimize" \
        --out="$run_dir/e.pt"
    done
    same_file "$TMP/extract1_${i}_$optimize/e.pt" "$TMP/extract2_${i}_$optimize/e.pt" \
      "featx extract --optimize=$optimize ($model)"

    # Directories with different names and depths: a path in the output shows.
    dir1="$TMP/codegen_a_${i}_$optimize"
    dir2="$TMP/codegen_other_name_${i}_$optimize/deeper"
    for dir in "$dir1" "$dir2"; do
      run "$TMP/codegen.out" codegen "$model" --return_nodes="$nodes" --class_name=TestExtractor \
        --namespace=determinism --optimize="$optimize" --input_shape=1,3,32,32 --out_dir="$dir"
    done
    n=$(find "$dir1" -type f | wc -l)
    [[ $n -eq 4 ]] || fail "featx codegen wrote $n files into $dir1, expected 4"
    for f in "$dir1"/*; do
      same_file "$f" "$dir2/$(basename "$f")" "featx codegen --optimize=$optimize ($model)"
    done
    if grep -l -e "$TMP" -e "codegen_a_" -e "codegen_other_name_" "$dir1"/* "$dir2"/*; then
      fail "generated files mention their directory or the temp directory"
    fi
  done
done

echo "cli_determinism_test: $checks checks passed"
