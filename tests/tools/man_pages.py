#!/usr/bin/env python3
"""Checks the man pages in man/.

  man_pages.py --root SRC

Every man/*.1 must render with `man -l` without a warning on stderr (groff's
warnings are turned on with `man --warnings`), and its rendered text must have
NAME, SYNOPSIS and DESCRIPTION sections. Every subcommand that cli/main.cpp
registers (add_<name>_command) must have a page man/waflow-<name>.1, and
waflow.1 must name each of those pages.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

REQUIRED_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION")


def render(page):
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    proc = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                          env=env)
    # man-db keeps overstrike bold and underline when MAN_KEEP_FORMATTING is set at
    # all; drop them so the text can be searched.
    text = re.sub(r".\x08", "", proc.stdout)
    return proc.returncode, text, proc.stderr


def subcommands(root):
    source = open(os.path.join(root, "cli/main.cpp"), encoding="utf-8").read()
    return sorted(set(re.findall(r"\badd_(\w+)_command\s*\(", source)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    if shutil.which("man") is None:
        print("man is not installed")
        return 1
    folder = os.path.join(args.root, "man")
    pages = sorted(f for f in os.listdir(folder) if f.endswith(".1"))
    problems = []
    rendered = {}
    for page in pages:
        status, out, err = render(os.path.join(folder, page))
        rendered[page] = out
        if status != 0:
            problems.append(f"{page}: man exited with {status}")
        if err.strip():
            problems.append(f"{page}: warnings while rendering:\n{err.rstrip()}")
        headings = set(re.findall(r"^([A-Z][A-Z ]+)$", out, re.M))
        for section in REQUIRED_SECTIONS:
            if section not in headings:
                problems.append(f"{page}: no {section} section")
    commands = subcommands(args.root)
    if not commands:
        problems.append("found no add_*_command calls in cli/main.cpp")
    overview = rendered.get("waflow.1")
    if overview is None:
        problems.append("no man/waflow.1")
    for command in commands:
        page = f"waflow-{command}.1"
        if page not in pages:
            problems.append(f"the subcommand '{command}' has no man page man/{page}")
        if overview is not None and f"waflow-{command}(1)" not in overview:
            problems.append(f"waflow.1 does not mention waflow-{command}(1)")
    for problem in problems:
        print(problem)
    print(f"{len(pages)} man pages checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
