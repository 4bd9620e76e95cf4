#!/usr/bin/env python3
"""Checks the diagnostics catalogue against the compiler.

Every code in compiler/diagnostic_kinds.def must have a page docs/diagnostics/WFnnnn.md
with an '## Example' section holding one fenced block (```wf, ```yaml or ```json; or
```sh, a script run with waflow on PATH, for inputs a code block cannot hold).
That example is a must-fail test: `waflow check` on it must report the page's code,
its output must equal tests/golden/diagnostics/WFnnnn.stderr, and the page's
'Output' block must show the same text.

  diagnostic_pages.py --waflow BIN --root SRC registry      # every code has a page
  diagnostic_pages.py --waflow BIN --root SRC page WF0203   # one page's example
  WAFLOW_UPDATE_GOLDEN=1 ... page WF0203                    # rewrite the expectations
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

EXTENSIONS = {"wf": ".wf", "yaml": ".yaml", "json": ".json", "sh": ".sh"}


def registry(root):
    text = open(os.path.join(root, "compiler/diagnostic_kinds.def"), encoding="utf-8").read()
    return re.findall(r'^WAFLOW_DIAGNOSTIC\((\w+),\s*(\w+),\s*"(WF\d{4})"', text, re.M)


def fenced_blocks(section):
    return re.findall(r"^```(\w*)\n(.*?)^```\s*$", section, re.M | re.S)


def section(page, title):
    m = re.search(r"^## " + re.escape(title) + r"\s*\n(.*?)(?=^## |\Z)", page, re.M | re.S)
    return m.group(1) if m else None


def run_example(waflow, code, lang, source):
    with tempfile.TemporaryDirectory() as tmp:
        name = code + EXTENSIONS[lang]
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write(source)
        env = dict(os.environ, LC_ALL="C.UTF-8")
        if lang == "sh":
            # A shell example sets up files a code block cannot hold (a huge file,
            # invalid UTF-8, a missing path) and runs waflow itself.
            env["PATH"] = os.path.dirname(os.path.abspath(waflow)) + os.pathsep + env["PATH"]
            command = ["bash", "-e", name]
        else:
            command = [os.path.abspath(waflow), "check", "--color=never", name]
        proc = subprocess.run(command, cwd=tmp, capture_output=True, text=True, env=env,
                              errors="replace")
        return proc.returncode, proc.stderr


def check_page(args, code):
    path = os.path.join(args.root, "docs/diagnostics", code + ".md")
    if not os.path.exists(path):
        print(f"{code}: no page {path}")
        return 1
    page = open(path, encoding="utf-8").read()
    errors = []
    for title in ("What it means", "Why", "How to fix", "Example"):
        if section(page, title) is None:
            errors.append(f"missing section '## {title}'")
    example = section(page, "Example") or ""
    blocks = fenced_blocks(example)
    if not blocks or blocks[0][0] not in EXTENSIONS:
        errors.append("the Example section needs a ```wf, ```yaml or ```json block")
        print(f"{code}: " + "; ".join(errors))
        return 1
    lang, source = blocks[0]
    status, stderr = run_example(args.waflow, code, lang, source)
    if f"[{code}]" not in stderr:
        errors.append(f"the example does not report {code}; waflow said:\n{stderr}")
    if lang != "sh" and status not in (0, 1):
        errors.append(f"waflow check exited with {status}")
    golden_path = os.path.join(args.root, "tests/golden/diagnostics", code + ".stderr")
    update = os.environ.get("WAFLOW_UPDATE_GOLDEN") == "1"
    if update:
        with open(golden_path, "w", encoding="utf-8") as f:
            f.write(stderr)
        shown = "```\n" + stderr + "```\n"
        output = section(page, "Output")
        if output is not None:
            page = page.replace(output, "\n" + shown + "\n", 1)
        else:
            page = page.rstrip("\n") + "\n\n## Output\n\n" + shown
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
    else:
        if not os.path.exists(golden_path):
            errors.append(f"no golden file {golden_path} (run with WAFLOW_UPDATE_GOLDEN=1)")
        else:
            golden = open(golden_path, encoding="utf-8").read()
            if golden != stderr:
                errors.append("output differs from the golden file:\n--- expected\n" + golden +
                              "--- actual\n" + stderr)
            output = section(page, "Output")
            shown = fenced_blocks(output or "")
            if not shown or shown[0][1] != golden:
                errors.append("the page's '## Output' block does not match the golden file")
    if errors:
        print(f"{code}: " + "\n".join(errors))
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("what", choices=["registry", "page"])
    parser.add_argument("code", nargs="?")
    args = parser.parse_args()
    if args.what == "page":
        return check_page(args, args.code)
    missing = []
    for name, _severity, code in registry(args.root):
        if not os.path.exists(os.path.join(args.root, "docs/diagnostics", code + ".md")):
            missing.append(f"{code} ({name})")
    pages = {f[:-3] for f in os.listdir(os.path.join(args.root, "docs/diagnostics"))
             if re.fullmatch(r"WF\d{4}\.md", f)}
    codes = {code for _n, _s, code in registry(args.root)}
    stray = sorted(pages - codes)
    if missing:
        print("codes without a page in docs/diagnostics/: " + ", ".join(missing))
    if stray:
        print("pages for codes that do not exist: " + ", ".join(stray))
    return 1 if missing or stray else 0


if __name__ == "__main__":
    sys.exit(main())
