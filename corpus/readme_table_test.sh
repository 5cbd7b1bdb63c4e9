#!/usr/bin/env bash
# README.md's corpus table is the one //corpus:corpus_table builds.
set -euo pipefail
readme="$1"
table="$2"
got="$(sed -n '/^<!-- corpus-table:begin/,/^<!-- corpus-table:end -->/p' "$readme" | sed '1d;$d')"
if [[ "$got" != "$(cat "$table")" ]]; then
  echo "README.md's corpus table is stale; run ./bazelw run //corpus:table" >&2
  diff <(echo "$got") "$table" >&2 || true
  exit 1
fi
