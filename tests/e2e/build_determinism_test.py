#!/usr/bin/env python3
"""`waflow build` is deterministic: the same sources give the same bundle bytes
and the same printed hash under LC_ALL=C and de_DE.UTF-8, with the files named
in either order, by directory or one by one, and from another working
directory holding a copy of the sources under the same relative paths.

  build_determinism_test.py WAFLOW SRC
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

waflow, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
failures = []
locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
if "de_de.utf8" not in locales:
    failures.append("the de_DE.UTF-8 locale is missing (scripts/install-deps.sh generates it)")

folder = os.path.join("examples", "flows")
files = sorted(os.path.join(folder, f) for f in os.listdir(os.path.join(root, folder))
               if f.endswith(".wf"))


def build(args, cwd, out, locale="C"):
    env = dict(os.environ, LC_ALL=locale, LANG=locale)
    proc = subprocess.run([waflow, "build", "-q", "-o", out] + args, capture_output=True,
                          cwd=cwd, env=env)
    if proc.returncode != 0:
        failures.append(f"waflow build {' '.join(args)} in {cwd} failed: "
                        + proc.stderr.decode("utf-8", "replace"))
        return None, None
    with open(os.path.join(cwd, out), "rb") as f:
        data = f.read()
    return data, proc.stdout.decode().strip()


with tempfile.TemporaryDirectory() as tmp:
    base, base_hash = build(files, root, os.path.join(tmp, "base.wfb"))
    if base is not None:
        if base_hash != "sha256:" + hashlib.sha256(base).hexdigest():
            failures.append(f"the printed hash {base_hash} is not the SHA-256 of the bundle")
        runs = {
            "LC_ALL=de_DE.UTF-8": build(files, root, os.path.join(tmp, "de.wfb"),
                                        "de_DE.UTF-8"),
            "the files in reverse order": build(files[::-1], root,
                                                os.path.join(tmp, "reversed.wfb")),
            "the directory instead of the files": build([folder], root,
                                                        os.path.join(tmp, "dir.wfb")),
        }
        # Another working directory with the same relative paths.
        other = os.path.join(tmp, "elsewhere")
        shutil.copytree(os.path.join(root, folder), os.path.join(other, folder))
        runs["another working directory"] = build(files[::-1], other, "app.wfb",
                                                  "de_DE.UTF-8")
        for what, (data, printed) in runs.items():
            if data is None:
                continue
            if data != base:
                failures.append(f"the bundle bytes differ with {what}")
            if printed != base_hash:
                failures.append(f"the printed hash differs with {what}: {printed} != {base_hash}")
        # Two builds in a row are the same too (nothing depends on time).
        again, again_hash = build(files, root, os.path.join(tmp, "again.wfb"))
        if again != base or again_hash != base_hash:
            failures.append("two builds of the same sources differ")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
