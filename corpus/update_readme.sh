#!/usr/bin/env bash
# `./bazelw run //corpus:table`: replaces README.md's corpus table (between the
# corpus-table markers) with the one //corpus:corpus_table builds.
set -euo pipefail
table="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
readme="${BUILD_WORKSPACE_DIRECTORY:?run me with bazel run}/README.md"
begin='<!-- corpus-table:begin'
end='<!-- corpus-table:end -->'
grep -q "^$begin" "$readme" || { echo "README.md has no '$begin' marker" >&2; exit 1; }
/usr/bin/python3 - "$readme" "$table" "$begin" "$end" <<'PY'
import sys
readme, table, begin, end = sys.argv[1:]
text = open(readme).read()
start = text.index(begin)
start = text.index("\n", start) + 1
stop = text.index(end)
open(readme, "w").write(text[:start] + open(table).read() + text[stop:])
PY
echo "updated $readme"
