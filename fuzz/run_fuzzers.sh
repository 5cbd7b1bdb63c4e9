#!/usr/bin/env bash
# Builds the libFuzzer targets (--config=fuzz: clang-14, ASan) and runs each
# for SECONDS seconds (default 30) from its seed corpus. A crash, a broken
# invariant or a leak fails the script, naming the saved input; add it under
# fuzz/testdata/<target>/ once fixed (fuzz/README.md). .ci/run calls it.
#
# The mutation seed is fixed (FEATX_FUZZ_SEED, default 1) to narrow what CI
# explores; runs still drift apart (Abseil salts hash order per process), so
# run longer and with FEATX_FUZZ_SEED=0 (a random seed) before landing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly SECONDS_EACH=${1:-30}
# One output base per checkout, as Bazel's own default is: external
# repositories link into the workspace (@absl's BUILD file), so a base shared by
# two checkouts keeps pointing into the first, even after it is deleted.
workspace_hash=$(pwd -P | md5sum | cut -c1-12)
readonly OUTPUT_BASE=${FEATX_FUZZ_OUTPUT_BASE:-${XDG_CACHE_HOME:-$HOME/.cache}/featx/fuzz-output-base-$workspace_hash}
readonly SEED=${FEATX_FUZZ_SEED:-1}
readonly TARGETS=(return_nodes graph_text model)

bazel_fuzz() {
  # --symlink_prefix=/: no bazel-* links, so the gcc build's stay as they are.
  ./bazelw --output_base="$OUTPUT_BASE" "$1" --config=fuzz --symlink_prefix=/ "${@:2}"
}

# shellcheck disable=SC2046
bazel_fuzz build $(printf '//fuzz:%s_fuzzer ' "${TARGETS[@]}") //fixtures:bad_input_models
bin=$(bazel_fuzz info bazel-bin 2>/dev/null)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in "${TARGETS[@]}"; do
  corpus="$work/$target/corpus"
  artifacts="$work/$target/artifacts"
  mkdir -p "$corpus" "$artifacts"
  seeds=("fuzz/corpus/$target" "fuzz/testdata/$target")
  # The model fuzzer's seeds are built: the bad-input fixtures.
  if [[ $target == model ]]; then
    seeds=("$bin/fixtures/bad_input" "fuzz/testdata/model")
  fi
  existing=()
  for s in "${seeds[@]}"; do [[ -d $s ]] && existing+=("$s"); done
  echo "fuzz: $target for ${SECONDS_EACH}s, seed $SEED" >&2
  # LibTorch allocates process-lifetime objects that LeakSanitizer would
  # report once per run; leaks are not what these targets look for.
  # -timeout=120: LibTorch's TorchScript parser takes ~7 s of CPU (18 s under
  # ASan, minutes on a loaded machine) on some mutated code records
  # (testdata/model/slow_code_record_parse.pt); slow, not a crash.
  if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
      "$bin/fuzz/${target}_fuzzer" -max_total_time="$SECONDS_EACH" -seed="$SEED" -timeout=120 -rss_limit_mb=8192 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "${existing[@]}" \
      >"$work/$target/log" 2>&1; then
    echo "fuzz: $target FOUND A CRASH; last lines:" >&2
    tail -n 40 "$work/$target/log" >&2
    mkdir -p "fuzz/findings/$target"
    cp "$artifacts"/* "fuzz/findings/$target/" 2>/dev/null || true
    echo "fuzz: input saved in fuzz/findings/$target/; replay it: ./bazelw run //fuzz:${target}_fuzzer -- \$PWD/FILE" >&2
    status=1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$work/$target/log" | sed "s/^/fuzz: $target /" >&2 || true
done
exit $status
