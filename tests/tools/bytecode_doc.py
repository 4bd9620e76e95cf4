#!/usr/bin/env python3
"""Keeps the tables of docs/bytecode.md in step with the instruction set.

  bytecode_doc.py --root SRC check   fail (and show a diff) when a table is stale
  bytecode_doc.py --root SRC write   regenerate the tables in place

Three tables are generated, each between a pair of markers in the document:
  <!-- BEGIN opcodes -->   ... <!-- END opcodes -->     from runtime/bytecode/opcodes.def
  <!-- BEGIN effects -->   ... <!-- END effects -->     from EffectKind in runtime/bytecode/opcodes.h
  <!-- BEGIN functions --> ... <!-- END functions -->   from runtime/bytecode/functions.def
Everything outside the markers is hand-written.
"""
import argparse
import difflib
import os
import re
import sys

OPERAND_KINDS = {
    "None": None,
    "Str": "string id",
    "Num": "number id",
    "Target": "pc",
    "Count": "count",
    "Scope": "scope",
    "Step": "step index",
    "Flow": "flow index",
    "Fn": "function id",
    "Kind": "effect kind",
    "Capture": "capture type",
}


def cell(text):
    return text.replace("|", "\\|").strip()


def opcodes(root):
    """(mnemonic, operand kinds, pops, pushes, comment) per opcode, in opcode order."""
    path = os.path.join(root, "runtime", "bytecode", "opcodes.def")
    rows = []
    comment = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        m = re.match(r'WAFLOW_OPCODE\((\w+),\s*"([^"]+)",\s*(\w+),\s*(\w+),\s*(-?\d+),\s*(-?\d+)\)',
                     line)
        if m:
            _, mnemonic, a, b, pops, pushes = m.groups()
            rows.append((mnemonic, [a, b], int(pops), int(pushes), " ".join(comment)))
            comment = []
        elif line.startswith("//"):
            comment.append(line[2:].strip())
        elif not line:
            # The file's header comment ends at a blank line; an opcode's comment
            # sits right above it.
            comment = []
    return rows


def opcode_table(root):
    out = ["| code | mnemonic | operands | pops | pushes | stack | what it does |",
           "|---:|---|---|---:|---:|---|---|"]
    for code, (mnemonic, kinds, pops, pushes, comment) in enumerate(opcodes(root)):
        operands = []
        for letter, kind in zip("ab", kinds):
            if OPERAND_KINDS[kind] is not None:
                operands.append(f"{letter}: {OPERAND_KINDS[kind]}")
        stack = ""
        m = re.search(r"\s*Stack: ([^.]*)\.", comment)
        if m:
            stack = m.group(1)
            comment = (comment[:m.start()] + comment[m.end():]).strip()
            if not comment.endswith(".") and comment:
                comment += "."
        out.append("| {} (0x{:02x}) | `{}` | {} | {} | {} | {} | {} |".format(
            code, code, mnemonic, cell(", ".join(operands) or "—"),
            "by count" if pops < 0 else pops, "by count" if pushes < 0 else pushes,
            cell(stack), cell(comment)))
    return "\n".join(out)


def effect_table(root):
    text = open(os.path.join(root, "runtime", "bytecode", "opcodes.h"), encoding="utf-8").read()
    enum = re.search(r"enum class EffectKind[^{]*\{(.*?)\};", text, re.S).group(1)
    names = re.search(r"kEffectNames = \{(.*?)\};", text, re.S).group(1)
    names = re.findall(r'"([^"]+)"', names)
    out = ["| kind | name | used with | what it asks |", "|---:|---|---|---|"]
    entries = re.findall(r"(\w+),\s*//\s*(.*)", enum)
    if len(entries) != len(names):
        raise SystemExit("EffectKind and kEffectNames have different lengths")
    for code, ((_, comment), name) in enumerate(zip(entries, names)):
        m = re.search(r"\s*\((emit|await)\)\.?$", comment)
        used = m.group(1) if m else ""
        if m:
            comment = comment[:m.start()].rstrip()
            if not comment.endswith("."):
                comment += "."
        out.append(f"| {code} | `{name}` | `{used}` | {cell(comment)} |")
    return "\n".join(out)


def function_table(root):
    path = os.path.join(root, "runtime", "bytecode", "functions.def")
    names = re.findall(r'^WAFLOW_FUNCTION\(\w+,\s*"([^"]+)"\)', open(path, encoding="utf-8").read(),
                       re.M)
    out = ["| id | function |", "|---:|---|"]
    out += [f"| {i} | `{name}` |" for i, name in enumerate(names)]
    return "\n".join(out)


TABLES = {"opcodes": opcode_table, "effects": effect_table, "functions": function_table}


def regenerate(doc, root):
    for name, make in TABLES.items():
        pattern = re.compile(r"(<!-- BEGIN {0} [^>]*-->\n)(.*?)(<!-- END {0} -->)".format(name),
                             re.S)
        if not pattern.search(doc):
            raise SystemExit(f"docs/bytecode.md has no markers for the {name} table")
        doc = pattern.sub(lambda m: m.group(1) + make(root) + "\n" + m.group(3), doc)
    return doc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("mode", choices=["check", "write"])
    args = parser.parse_args()
    path = os.path.join(args.root, "docs", "bytecode.md")
    doc = open(path, encoding="utf-8").read()
    fresh = regenerate(doc, args.root)
    if args.mode == "write":
        if fresh != doc:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(fresh)
            print("docs/bytecode.md: tables regenerated")
        return 0
    if fresh == doc:
        print(f"docs/bytecode.md: {len(opcodes(args.root))} opcodes, tables up to date")
        return 0
    sys.stdout.writelines(difflib.unified_diff(doc.splitlines(keepends=True),
                                               fresh.splitlines(keepends=True),
                                               "docs/bytecode.md", "generated"))
    print("\ndocs/bytecode.md disagrees with the instruction set; regenerate its tables with\n"
          "  python3 tests/tools/bytecode_doc.py --root . write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
