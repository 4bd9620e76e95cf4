#!/usr/bin/env python3
"""Parsing, checking and converting do not depend on the locale or on file order.

Runs waflow under LC_ALL=C and LC_ALL=de_DE.UTF-8 (decimal comma), and with the
files named in both orders, and requires byte-identical output.
"""
import os
import subprocess
import sys

waflow, root = sys.argv[1], sys.argv[2]
inputs = os.path.join(root, "tests/e2e/determinism")
files = sorted(os.path.join(inputs, f) for f in os.listdir(inputs))


def run(args, locale):
    env = dict(os.environ, LC_ALL=locale, LANG=locale)
    proc = subprocess.run([waflow] + args, capture_output=True, env=env)
    return proc.returncode, proc.stdout, proc.stderr


failures = []
locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
if "de_de.utf8" not in locales:
    failures.append("the de_DE.UTF-8 locale is missing (scripts/install-deps.sh generates it)")

cases = [
    ["check", "--format", "json"] + files,
    ["check", "--color=never"] + files,
    ["convert", "--to", "dsl", os.path.join(root, "examples/flows/pizza.wf")],
]
for args in cases:
    base = run(args, "C")
    other = run(args, "de_DE.UTF-8")
    if base != other:
        failures.append(f"output of {' '.join(args[:3])} differs between LC_ALL=C and de_DE.UTF-8")
reordered = run(["check", "--format", "json"] + files[::-1], "C")
if reordered != run(["check", "--format", "json"] + files, "C"):
    failures.append("output depends on the order the files are named in")
code, out, _ = run(["check", "--format", "json"] + files, "de_DE.UTF-8")
if b'"WF0203"' not in out or b'"WF0204"' not in out or code != 1:
    failures.append("the determinism inputs no longer produce the expected diagnostics")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
