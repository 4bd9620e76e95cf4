#!/usr/bin/env python3
"""Checks that the language reference and the example flows are valid waflow.

  language_examples.py --waflow BIN --root SRC reference
      Every ```wf block of docs/language.md is a complete flow file: it is written
      to a temporary file and `waflow check` must accept it (exit 0, no errors).
      Fragments that are not meant to be checked use ```text instead. Every
      statement keyword of the grammar, every trigger kind and every capture type
      must appear in at least one checked block.

  language_examples.py --waflow BIN --root SRC examples
      `waflow check --warnings-as-errors examples/flows` is clean, and the example
      flows together use every statement keyword, trigger kind and capture type.

The keyword list is read from statement_keywords() in compiler/dsl/grammar.cpp, so
a new statement that is not documented (or not shown in an example) fails here.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

TRIGGER_KINDS = ["keyword", "exact", "regex", "any", "first_contact", "payload", "api",
                 "schedule"]
CAPTURE_TYPES = ["text", "number", "email", "phone", "date", "url", "choice", "yesno", "regex",
                 "media", "location"]


def statement_keywords(root):
    source = open(os.path.join(root, "compiler/dsl/grammar.cpp"), encoding="utf-8").read()
    m = re.search(r"statement_keywords\(\)\s*\{.*?words\s*=\s*\{(.*?)\};", source, re.S)
    if not m:
        sys.exit("cannot find statement_keywords() in compiler/dsl/grammar.cpp")
    return re.findall(r'"([a-z_]+)"', m.group(1))


def wf_blocks(markdown):
    """Yields (line number, source) of every ```wf fenced block."""
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```wf":
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            yield start + 1, "\n".join(lines[start:j]) + "\n"
            i = j
        i += 1


def run_check(waflow, paths, cwd, extra=()):
    proc = subprocess.run([os.path.abspath(waflow), "check", "--color=never", *extra, *paths],
                          cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, LC_ALL="C.UTF-8"))
    return proc.returncode, proc.stderr


def code_lines(source):
    """The source without comments and string contents, one statement per line."""
    source = re.sub(r'"""(.*?)"""', '""', source, flags=re.S)
    out = []
    for line in source.split("\n"):
        line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
        line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
        out.append(line.split("#", 1)[0])
    return out


def missing_constructs(sources, keywords):
    """Keywords, trigger kinds and capture types that no source uses."""
    used_keywords, used_triggers, used_types = set(), set(), set()
    for source in sources:
        for line in code_lines(source):
            words = line.split()
            if not words:
                continue
            used_keywords.add(words[0])
            if words[0] == "trigger" and len(words) > 1:
                used_triggers.add(words[1])
            # "ask NAME: TYPE", "field NAME: TYPE", "param NAME: TYPE".
            m = re.match(r"\s*(ask|field|param)\s+[\w.]+\s*:\s*(\w+)", line)
            if m:
                used_types.add(m.group(2))
            # Buttons and lists make a choice without a type.
            if words[0] in ("button", "row"):
                used_types.add("choice")
    problems = []
    for what, wanted, used in (("statement keyword", keywords, used_keywords),
                               ("trigger kind", TRIGGER_KINDS, used_triggers),
                               ("capture type", CAPTURE_TYPES, used_types)):
        missing = [w for w in wanted if w not in used]
        if missing:
            problems.append(f"no example uses the {what}(s): " + ", ".join(missing))
    return problems


def check_reference(args):
    path = os.path.join(args.root, "docs/language.md")
    markdown = open(path, encoding="utf-8").read()
    blocks = list(wf_blocks(markdown))
    failures = []
    if not blocks:
        failures.append("docs/language.md has no ```wf blocks")
    with tempfile.TemporaryDirectory() as tmp:
        for n, (line, source) in enumerate(blocks, 1):
            if not re.search(r"^flow\s", source, re.M):
                failures.append(f"docs/language.md:{line}: a ```wf block must be a complete "
                                "flow file (use ```text for a fragment)")
                continue
            name = f"example_{n:03d}.wf"
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(source)
            status, stderr = run_check(args.waflow, [name], tmp)
            if status != 0:
                failures.append(f"docs/language.md:{line}: waflow check exited with {status}:\n"
                                + stderr)
    failures += missing_constructs([s for _l, s in blocks], statement_keywords(args.root))
    for failure in failures:
        print(failure)
    print(f"{len(blocks)} examples checked, {len(failures)} problem(s)")
    return 1 if failures else 0


def check_examples(args):
    folder = os.path.join(args.root, "examples/flows")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".wf"))
    failures = []
    status, stderr = run_check(args.waflow, ["examples/flows"], args.root,
                               ["--warnings-as-errors"])
    if status != 0:
        failures.append(f"waflow check -W examples/flows exited with {status}:\n{stderr}")
    sources = [open(os.path.join(folder, f), encoding="utf-8").read() for f in files]
    failures += missing_constructs(sources, statement_keywords(args.root))
    for failure in failures:
        print(failure)
    print(f"{len(files)} example files checked, {len(failures)} problem(s)")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("what", choices=["reference", "examples"])
    args = parser.parse_args()
    return check_reference(args) if args.what == "reference" else check_examples(args)


if __name__ == "__main__":
    sys.exit(main())
