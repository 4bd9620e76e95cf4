#!/usr/bin/env python3
"""Checks the names of the Catch2 test cases under tests/.

  test_names.py --root SRC

ctest learns the cases with catch_discover_tests, which keeps each name in a
CMake list: a ';' in a name splits it into parts that match no case, and such a
test "passes" without running. Every TEST_CASE name (its adjacent string
literals joined) must be free of ';', and no two cases may share a name.
"""
import argparse
import os
import re
import sys

CASE = re.compile(r'\bTEST_CASE\s*\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def names(path):
    source = open(path, encoding="utf-8").read()
    for m in CASE.finditer(source):
        line = source.count("\n", 0, m.start()) + 1
        yield line, "".join(LITERAL.findall(m.group(1)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    problems = []
    seen = {}
    count = 0
    for folder, _, files in os.walk(os.path.join(args.root, "tests")):
        for f in sorted(files):
            if not f.endswith(".cpp"):
                continue
            path = os.path.join(folder, f)
            where = os.path.relpath(path, args.root)
            for line, name in names(path):
                count += 1
                if ";" in name:
                    problems.append(f"{where}:{line}: ';' in the test name {name!r}: ctest would "
                                    "split it and never run the case")
                if name in seen:
                    problems.append(f"{where}:{line}: the test name {name!r} is taken by "
                                    f"{seen[name]}")
                seen.setdefault(name, f"{where}:{line}")
    if count == 0:
        problems.append("no TEST_CASE found under tests/")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{count} test cases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
