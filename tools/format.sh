#!/usr/bin/env bash
# Formats every C++ file git knows about with clang-format 14 and //:.clang-format
# (Google style, 100 columns, includes regrouped and sorted).
#
#   tools/format.sh           rewrite the files in place
#   tools/format.sh --check   list the files that are not formatted; exit 1 if any
#
# The version is pinned: clang-format's output changes between releases.
# Goldens (*.golden) are emitter output and are never formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly CLANG_FORMAT=clang-format-14
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format.sh: $CLANG_FORMAT is missing (Debian package clang-format-14)" >&2
  exit 1
fi
# Tracked files and new ones git does not ignore: a file not yet added is
# formatted too (it was committed unformatted once).
mapfile -d '' files < <(git ls-files -z --cached --others --exclude-standard -- '*.h' '*.cc')
if [[ "${1:-}" == "--check" ]]; then
  bad=()
  for f in "${files[@]}"; do
    "$CLANG_FORMAT" --style=file "$f" | cmp -s - "$f" || bad+=("$f")
  done
  if [[ ${#bad[@]} -gt 0 ]]; then
    printf 'format.sh: not formatted (run tools/format.sh): %s\n' "${bad[@]}" >&2
    exit 1
  fi
else
  "$CLANG_FORMAT" --style=file -i "${files[@]}"
fi
