#!/usr/bin/env python3
"""Golden listings of the example flows, and end-to-end tests of `waflow disasm`.

  disasm_golden.py --waflow BIN --root SRC case NAME   one golden
  disasm_golden.py --waflow BIN --root SRC all         every golden
  disasm_golden.py --waflow BIN --root SRC coverage    every example has a golden
  disasm_golden.py --waflow BIN --root SRC cli         exit statuses and errors

A case builds an example project with `waflow build` (from SRC, so the bundle
names its sources examples/flows/...) and compares `waflow disasm` of it with
tests/golden/disasm/NAME.disasm. With WAFLOW_UPDATE_GOLDEN=1 the golden is
rewritten instead; review the diff.

Each example file is built alone, except where it needs other files: menu.wf
calls flows of menu_info.wf, and the buttons of its welcome message are
answered by the payload trigger of support.wf.
"""
import argparse
import difflib
import os
import subprocess
import sys
import tempfile

GROUPS = {"menu": ["menu.wf", "menu_info.wf", "support.wf"]}
COVERED_BY = {"menu_info": "menu"}


def examples(root):
    folder = os.path.join(root, "examples", "flows")
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".wf"))


def project_files(name):
    files = GROUPS.get(name, [name + ".wf"])
    return [os.path.join("examples", "flows", f) for f in files]


def run(waflow, args, cwd):
    env = dict(os.environ, LC_ALL="C.UTF-8")
    return subprocess.run([waflow] + args, capture_output=True, cwd=cwd, env=env)


def build(waflow, root, files, out):
    proc = run(waflow, ["build", "-q", "-o", out] + files, root)
    if proc.returncode != 0:
        raise RuntimeError(f"waflow build {' '.join(files)} failed:\n" +
                           proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode().strip()


def listing(waflow, root, name, tmp):
    bundle = os.path.join(tmp, name + ".wfb")
    build(waflow, root, project_files(name), bundle)
    proc = run(waflow, ["disasm", bundle], root)
    if proc.returncode != 0:
        raise RuntimeError(f"waflow disasm failed for {name}:\n" +
                           proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode("utf-8")


def check_case(waflow, root, name):
    golden = os.path.join(root, "tests", "golden", "disasm", name + ".disasm")
    with tempfile.TemporaryDirectory() as tmp:
        actual = listing(waflow, root, name, tmp)
    if os.environ.get("WAFLOW_UPDATE_GOLDEN") == "1":
        with open(golden, "w", encoding="utf-8", newline="\n") as f:
            f.write(actual)
        print(f"updated {os.path.relpath(golden, root)}")
        return True
    if not os.path.exists(golden):
        print(f"{name}: no golden {golden}; run with WAFLOW_UPDATE_GOLDEN=1 to create it")
        return False
    with open(golden, encoding="utf-8", newline="") as f:
        expected = f.read()
    if expected == actual:
        return True
    diff = difflib.unified_diff(expected.splitlines(keepends=True),
                                actual.splitlines(keepends=True),
                                f"golden/disasm/{name}.disasm", "waflow disasm")
    sys.stdout.writelines(diff)
    print(f"\n{name}: the listing differs from its golden "
          "(WAFLOW_UPDATE_GOLDEN=1 rewrites it; review the diff)")
    return False


def coverage(root):
    folder = os.path.join(root, "tests", "golden", "disasm")
    goldens = {f[:-7] for f in os.listdir(folder) if f.endswith(".disasm")}
    ok = True
    for name in examples(root):
        if name not in goldens and COVERED_BY.get(name) not in goldens:
            print(f"examples/flows/{name}.wf has no golden listing in tests/golden/disasm/")
            ok = False
    for name in sorted(goldens):
        if not all(os.path.exists(os.path.join(root, f)) for f in project_files(name)):
            print(f"tests/golden/disasm/{name}.disasm belongs to no example")
            ok = False
    return ok


def cli(waflow, root):
    failures = []

    def expect(what, cond, proc=None):
        if not cond:
            detail = ""
            if proc is not None:
                detail = (f" (exit {proc.returncode})\n" +
                          proc.stdout.decode("utf-8", "replace")[:2000] +
                          proc.stderr.decode("utf-8", "replace"))
            failures.append(what + detail)

    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "pizza.wfb")
        printed = build(waflow, root, ["examples/flows/pizza.wf"], bundle)
        data = open(bundle, "rb").read()

        p = run(waflow, ["disasm", bundle], root)
        expect("a good bundle lists with exit 0", p.returncode == 0 and not p.stderr, p)
        out = p.stdout.decode()
        expect("the listing shows the hash build printed", f"content   {printed}\n" in out, p)
        expect("the listing shows source text",
               '; examples/flows/pizza.wf:7  say "Welcome to Pizza Bot, {{contact.name}}!"\n'
               in out, p)

        p = run(waflow, ["disasm", bundle], tmp)
        expect("without the sources, file:line only",
               p.returncode == 0 and b"; examples/flows/pizza.wf:7\n" in p.stdout, p)
        p = run(waflow, ["disasm", "--no-source", bundle], root)
        expect("--no-source shows file:line only",
               p.returncode == 0 and b"; examples/flows/pizza.wf:7\n" in p.stdout, p)
        p = run(waflow, ["disasm", "--flow", "pizza", bundle], root)
        expect("--flow lists the flow", p.returncode == 0 and b"\nflow pizza " in p.stdout, p)
        p = run(waflow, ["disasm", "--flow", "nope", bundle], root)
        expect("--flow with an unknown flow is a usage error",
               p.returncode == 2 and b"no flow named 'nope'" in p.stderr, p)

        p = run(waflow, ["disasm"], root)
        expect("no bundle is a usage error", p.returncode == 2, p)
        p = run(waflow, ["disasm", "--frobnicate", bundle], root)
        expect("an unknown option is a usage error", p.returncode == 2, p)
        p = run(waflow, ["disasm", os.path.join(tmp, "missing.wfb")], root)
        expect("a missing file exits 1",
               p.returncode == 1 and b"cannot read" in p.stderr and not p.stdout, p)

        def damaged(name, content):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(content)
            return run(waflow, ["disasm", path], root)

        p = damaged("text.wfb", b"flow pizza\n  say \"hi\"\n")
        expect("a text file is not a bundle",
               p.returncode == 1 and b"not a waflow bundle (bad magic)" in p.stderr
               and not p.stdout, p)
        flipped = bytearray(data)
        flipped[-3] ^= 0x01
        p = damaged("flipped.wfb", bytes(flipped))
        expect("a flipped bit fails a checksum",
               p.returncode == 1 and b"checksum mismatch in section 9 (meta)" in p.stderr, p)
        p = damaged("cut.wfb", data[:-10])
        expect("a truncated bundle is refused",
               p.returncode == 1 and b"malformed bundle: truncated:" in p.stderr, p)
        newer = bytearray(data)
        newer[4] = 2
        p = damaged("newer.wfb", bytes(newer))
        expect("a newer major format asks for a newer waflow",
               p.returncode == 1 and b"needs a newer waflow" in p.stderr, p)
        p = damaged("empty.wfb", b"")
        expect("an empty file is not a bundle", p.returncode == 1, p)

    for f in failures:
        print("FAIL:", f)
    return not failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("what", choices=["case", "all", "coverage", "cli"])
    parser.add_argument("name", nargs="?")
    args = parser.parse_args()
    waflow = os.path.abspath(args.waflow)
    root = os.path.abspath(args.root)
    if args.what == "case":
        if not args.name:
            parser.error("case needs a NAME")
        return 0 if check_case(waflow, root, args.name) else 1
    if args.what == "all":
        names = [n for n in examples(root) if n not in COVERED_BY]
        results = [check_case(waflow, root, n) for n in names]
        return 0 if all(results) else 1
    if args.what == "coverage":
        return 0 if coverage(root) else 1
    return 0 if cli(waflow, root) else 1


if __name__ == "__main__":
    sys.exit(main())
