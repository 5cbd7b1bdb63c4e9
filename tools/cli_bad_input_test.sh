#!/usr/bin/env bash
# Bad input for every featx command (issue 10, point 1): broken model files
# (//fixtures:bad_input_models and truncations), malformed and unknown return
# nodes, leaf modules that match nothing, an operator no loaded library
# defines. Each error is one line on stderr starting with "featx: ", exit 1
# for bad input and 2 for a bad flag value, with the cause kept and never
# LibTorch's internal-assert text. Same conventions as cli_test.sh.
#
# Arguments (runfiles paths, from //tools:cli_bad_input_test): the featx
# binary, seed_cnn.pt, bad_input/tiny.pt, detector.pt and the file holding
# the path of torchvision's operator library.
set -u

if [[ $# -ne 5 ]]; then
  echo "cli_bad_input_test: expected 5 arguments, got $#" >&2
  exit 1
fi
readonly FEATX=$1
readonly CNN=$2
readonly FEATX_BAD_TINY=$3
readonly FEATX_DETECTOR=$4
readonly TORCHVISION_OPS=$(cat "$5")
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

# --- Bad input for every command (issue 10.1) -------------------------------------
# Model files from //fixtures:bad_input_models (a valid tiny.pt, and files made
# from it) and truncations of tiny.pt: each command answers with one line,
# exit 1, naming the file and keeping the cause, never LibTorch's
# internal-assert text. Return nodes and leaf modules after that.

  BAD=$(dirname "$FEATX_BAD_TINY")
  size=$(stat -c %s "$FEATX_BAD_TINY")
  for percent in 10 50 90; do
    head -c $((size * percent / 100)) "$FEATX_BAD_TINY" >"$TMP/tiny_$percent.pt"
  done
  mkdir -p "$TMP/a_directory.pt"
  : >"$TMP/empty.pt"
  # model file, then a fixed string its error must contain
  bad_models=(
    "$TMP/does_not_exist.pt" "': No such file or directory"
    "$TMP/empty.pt" "' is empty (0 bytes), not a TorchScript file"
    "$TMP/a_directory.pt" "' is a directory, not a TorchScript file"
    # miniz's reason depends on where the cut lands ("failed finding central
    # directory", "not a ZIP archive").
    "$TMP/tiny_10.pt" "' is not a readable TorchScript file: PytorchStreamReader failed reading zip archive: "
    "$TMP/tiny_50.pt" "' is not a readable TorchScript file: PytorchStreamReader failed reading zip archive: "
    "$TMP/tiny_90.pt" "' is not a readable TorchScript file: PytorchStreamReader failed reading zip archive: "
    "$BAD/plain_zip.pt" "' is not a readable TorchScript file: PytorchStreamReader failed locating file constants.pkl: file not found"
    "$BAD/code_flipped.pt" "' is not a readable TorchScript file: "
    "$BAD/code_garbled.pt" "' is not a readable TorchScript file: expected ( but found '@' here:"
    "$BAD/data_flipped.pt" "' is not a readable TorchScript file: Unknown opcode for unpickling"
    "$BAD/data_not_module.pt" "' is not a readable TorchScript file: isObject() is false: a consistency check inside LibTorch failed (ivalue_inl.h:"
  )
  commands=(
    "nodes"
    "graph"
    "extract --return_nodes=lin --out=$TMP/bad_extractor.pt"
    "run --input_shape=2,4"
    "check --return_nodes=lin --input_shape=2,4"
    "codegen --return_nodes=lin --class_name=Tiny --namespace=t --out_dir=$TMP/bad_gen"
  )
  # Every bad file for `nodes`; for the other commands (the same LoadModel
  # behind each), a truncation and a corrupted record. Each featx run loads
  # LibTorch, seconds on a busy machine, so the matrix is kept small.
  for command in "${commands[@]}"; do
    for ((i = 0; i < ${#bad_models[@]}; i += 2)); do
      model=${bad_models[i]}
      if [[ $command != nodes && $model != "$TMP/tiny_50.pt" && $model != "$BAD/data_not_module.pt" ]]; then
        continue
      fi
      # shellcheck disable=SC2086  # the command's words
      run ${command%% *} "$model" $(cut -s -d' ' -f2- <<<"$command")
      expect_error 1
      grep -qF "$model${bad_models[i + 1]}" "$ERR" || fail "expected '${bad_models[i + 1]}' after the model file"
      ! grep -qiF "report a bug" "$ERR" && ! grep -qF "featx gave it" "$ERR" ||
        fail "LibTorch's internal-assert wording reached the user"
    done
    # A module without forward: a valid file featx cannot trace (run: cannot call).
    run ${command%% *} "$BAD/no_forward.pt" $(cut -s -d' ' -f2- <<<"$command")
    expect_error 1
    if [[ $command == run* ]]; then
      grep -qF "featx: running the model failed: Method 'forward' is not defined." "$ERR" || fail "expected forward's absence"
    else
      grep -qF "featx: the model (class NoForward) has no forward method, which featx traces; its methods: features" "$ERR" ||
        fail "expected forward's absence and the methods there are"
    fi
    # The valid base file works with the same command's flags.
    if [[ $command == codegen* || $command == check* ]]; then
      run ${command%% *} "$BAD/tiny.pt" $(cut -s -d' ' -f2- <<<"$command")
      expect_rc 0
    fi
  done
  [[ ! -e "$TMP/bad_gen/tiny.h" ]] || [[ -s "$TMP/bad_gen/tiny.h" ]] || fail "codegen left an empty file"

  # Return nodes: malformed syntax is a bad flag value (exit 2, before the model
  # is read); an unknown name is bad input (exit 1).
  for command in extract codegen; do
    case $command in
      extract) extra=(--out="$TMP/bad_extractor.pt") ;;
      run | check) extra=(--input_shape=2,4) ;;
      codegen) extra=(--class_name=Tiny --namespace=t --out_dir="$TMP/bad_gen") ;;
      graph) extra=(--format=dot) ;;
    esac
    run "$command" "$BAD/tiny.pt" --return_nodes=lin,,relu "${extra[@]}"
    expect_error 2
    grep -qF "featx: bad value 'lin,,relu' for --return_nodes: return node '' (entry 2 of 3) has an empty query" "$ERR" ||
      fail "expected the empty entry and its position"
    run "$command" "$BAD/tiny.pt" --return_nodes=nosuch "${extra[@]}"
    expect_error 1
    grep -qF "featx: node 'nosuch' is not in the graph; closest: " "$ERR" || fail "expected the unknown name"
  done
  for entry in "lin::x" "lin:" ":x" "lin:x,relu:x"; do
    run extract "$BAD/tiny.pt" --return_nodes="$entry" --out="$TMP/bad_extractor.pt"
    expect_error 2
    grep -qF "featx: bad value '$entry' for --return_nodes: " "$ERR" || fail "expected the flag's value"
  done
  grep -qF "output key 'x' is given twice: by 'lin:x' and by 'relu:x'" "$ERR" ||
    fail "expected both entries of the repeated key"
  run extract "$BAD/tiny.pt" --train_return_nodes=lin::x --eval_return_nodes=lin --out="$TMP/bad_extractor.pt"
  expect_error 2
  grep -qF "has an empty part between ':'s" "$ERR" || fail "expected the empty part"

  # Leaf modules that match no class or path: the closest class names.
  run nodes "$CNN" --leaf_modules=ConvBlok
  expect_error 1
  grep -qF "featx: leaf module 'ConvBlok' matches no module class or path in the model; closest class names: 'ConvBlock', " "$ERR" ||
    fail "expected the closest class names"
  for command in "extract --return_nodes=blocks.1 --out=$TMP/bad_extractor.pt"; do
    run ${command%% *} "$CNN" --leaf_modules=blocks.9 $(cut -s -d' ' -f2- <<<"$command")
    expect_error 1
    grep -qF "leaf module 'blocks.9' matches no module class or path" "$ERR" || fail "expected the leaf module"
  done
  run nodes "$CNN" --leaf_modules=blocks.0,ConvBlock
  expect_rc 0

# An operator not registered at generation time: the model does not load, and
# the error names the operator and the flag that registers it; with its
# library, both back ends work (the generated code calls it boxed, through
# the dispatcher).
  run codegen "$FEATX_DETECTOR" --return_nodes=nms --class_name=Det --namespace=d --out_dir="$TMP/det"
  expect_error 1
  grep -qF "Unknown builtin op: torchvision::nms. (load the library that defines it first: --load_library=PATH" "$ERR" ||
    fail "expected the operator and --load_library"
  run codegen "$FEATX_DETECTOR" --load_library="$TORCHVISION_OPS" --return_nodes=nms --class_name=Det \
    --namespace=d --out_dir="$TMP/det"
  expect_rc 0
  grep -qF '"torchvision::nms"' "$TMP/det/det.cc" || fail "expected a boxed call of torchvision::nms"
  run extract "$FEATX_DETECTOR" --load_library="$TORCHVISION_OPS" --return_nodes=nms --out="$TMP/det.pt"
  expect_rc 0

echo "cli_bad_input_test: all $checks featx runs behaved as specified"
