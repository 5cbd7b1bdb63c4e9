"""Writes the README's corpus table (//corpus:corpus_table).

Usage: make_table.py CORPUS_TXT KNOWN_FAILURES_TXT NAMES_TXT... > corpus_table.md

One row per model of corpus.txt, one column per check: "ok", the known
failure's reason from known_failures.txt, or, for names where torchvision's
FX cannot trace the model, "n/a (FX: ...)". The table is true when
//corpus:corpus_test and the codegen tests pass: they fail on a listed check
that passes and on an unlisted one that fails.
"""
import os
import sys


def main():
    corpus_txt, failures_txt = sys.argv[1], sys.argv[2]
    fx_errors = {}
    for path in sys.argv[3:]:
        model = os.path.basename(path)[:-len("_names.txt")]
        with open(path) as f:
            first = f.readline().strip()
        if first.startswith("error "):
            # "TraceError: Proxy object cannot be iterated. This can be ..."
            fx_errors[model] = first[len("error "):].split(". ")[0]
    failures = {}
    with open(failures_txt) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            model, check, reason = line.rstrip("\n").split("\t", 2)
            failures[(model, check)] = reason
    models = []
    with open(corpus_txt) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            models.append((fields[0], fields[3:]))

    def cell(model, check):
        if check == "names" and model in fx_errors:
            return "n/a (FX: %s)" % fx_errors[model]
        reason = failures.get((model, check))
        return "**fails**: " + reason if reason else "ok"

    rows = ["| model | nodes | names | values | codegen |", "| --- | --- | --- | --- | --- |"]
    for model, sets in models:
        nodes = "<br>".join("`%s`" % s.replace(",", "`, `") for s in sets)
        rows.append("| %s | %s | %s | %s | %s |" % (
            model, nodes, cell(model, "names"), cell(model, "values"), cell(model, "codegen")))
    ok = {c: sum(cell(m, c) == "ok" for m, _ in models) for c in ("names", "values", "codegen")}
    fx = sum(1 for m, _ in models if m in fx_errors)
    rows.append("")
    rows.append("%d models: names ok on %d of the %d FX can trace, values ok on %d, codegen ok on %d."
                % (len(models), ok["names"], len(models) - fx, ok["values"], ok["codegen"]))
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
