#!/usr/bin/env python3
"""Expected bytes of a Redshift UNLOAD file, written from the rules in AWS's
UNLOAD reference (Parameters: FORMAT, DELIMITER, ESCAPE, ADDQUOTES, NULL AS,
HEADER) — an implementation independent of lode's, for byte-level tests.

stdin: {"columns": [{"name": , "kind": "number"|"bool"|"string"}],
        "rows": [[value or null, ...]], "options": {...}}
  values are the column's text as PostgreSQL/Redshift print it
  (booleans "t"/"f"); options: format ("text"|"csv"|"json"|"fixedwidth"),
  delimiter, escape, addquotes, null_as, header, widths (FIXEDWIDTH's
  widths, one per column).
stdout: the file's bytes, or "ERROR: <why>" and exit status 3 where the
reference says UNLOAD fails.
"""
import json
import sys


def text_file(cols, rows, o):
    delim = o.get("delimiter", "|")
    null = o.get("null_as", "")
    q = '"' if o.get("addquotes") else ""
    specials = {"\n", "\r", "\\", delim}
    if o.get("addquotes"):
        specials.add('"')

    def escaped(v):
        if o.get("escape"):
            return "".join("\\" + ch if ch in specials else ch for ch in v)
        return v

    # ESCAPE applies to the NULL AS string too (Redshift's known behaviour:
    # NULL AS '\\N' ESCAPE writes \\N)
    def field(v):
        if v is None:
            return q + escaped(null) + q
        return q + escaped(v) + q

    out = []
    if o.get("header"):
        out.append(delim.join(field(c["name"]) for c in cols) + "\n")
    for r in rows:
        out.append(delim.join(field(v) for v in r) + "\n")
    return "".join(out)


def csv_file(cols, rows, o):
    delim = o.get("delimiter", ",")
    null = o.get("null_as", "")

    def field(v):
        if v is None:
            return null
        if any(ch in v for ch in (delim, '"', "\n", "\r")):
            return '"' + v.replace('"', '""') + '"'
        return v

    out = []
    if o.get("header"):
        out.append(delim.join(field(c["name"]) for c in cols) + "\n")
    for r in rows:
        out.append(delim.join(field(v) for v in r) + "\n")
    return "".join(out)


def json_file(cols, rows, o):
    out = []
    for r in rows:
        parts = []
        for c, v in zip(cols, r):
            if v is None:
                val = "null"
            elif c["kind"] == "number":
                val = v
            else:
                val = json.dumps(v, ensure_ascii=False)
            parts.append(json.dumps(c["name"], ensure_ascii=False) + ":" + val)
        out.append("{" + ",".join(parts) + "}\n")
    return "".join(out)


def fixedwidth_file(cols, rows, o):
    # FIXEDWIDTH: "each column width is a fixed length, rather than separated
    # by a delimiter"; the width is a number of characters; UNLOAD "will fail
    # rather than truncate data". NULL AS: without it NULL is a whitespace
    # string; a null string wider than the column gives an empty field for
    # non-character columns and an error for character ones.
    widths = o["widths"]
    null = o.get("null_as")
    out = []
    for r in rows:
        line = ""
        for c, w, v in zip(cols, widths, r):
            if v is None:
                if null is None:
                    v = ""
                elif len(null) <= w:
                    v = null
                elif c["kind"] == "string":
                    raise Failed("NULL AS wider than character column " + c["name"])
                else:
                    v = ""
            if len(v) > w:
                raise Failed("value longer than the width of column " + c["name"])
            line += v.ljust(w, " ")
        out.append(line + "\n")
    return "".join(out)


class Failed(Exception):
    pass


def main():
    spec = json.load(sys.stdin)
    o = spec.get("options", {})
    fmt = o.get("format", "text")
    f = {"text": text_file, "csv": csv_file, "json": json_file, "fixedwidth": fixedwidth_file}[fmt]
    try:
        data = f(spec["columns"], spec["rows"], o)
    except Failed as e:
        sys.stdout.write("ERROR: %s\n" % e)
        sys.exit(3)
    sys.stdout.buffer.write(data.encode("utf-8"))


main()
