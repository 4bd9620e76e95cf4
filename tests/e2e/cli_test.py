#!/usr/bin/env python3
"""End-to-end tests of the waflow command line: exit statuses, output formats,
convert. Runs the real binary on real files in a temporary directory."""
import json
import os
import subprocess
import sys
import tempfile

waflow, root = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = []


def run(*args, cwd=None):
    p = subprocess.run([waflow, *args], capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
    return p.returncode, p.stdout, p.stderr


def expect(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


with tempfile.TemporaryDirectory() as tmp:
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    ok = write("ok.wf", 'flow ok\n  trigger keyword "hi"\n  say "Hello!"\n')
    warn = write("warn.wf", 'flow warn\n  trigger keyword "warn"\n  ask name "Name?"\n  say "Hi {{name}}"\n')
    bad = write("bad.wf", 'flow bad\n  trigger keyword "bad"\n  goto nowhere\n')

    code, out, err = run("--version")
    expect("--version", code == 0 and out.startswith("waflow "), out + err)
    code, out, err = run("--help")
    expect("--help", code == 0 and "check" in out and "convert" in out, out + err)
    code, out, err = run()
    expect("no subcommand is a usage error", code == 2, f"exit {code}")
    code, out, err = run("check", "--format", "xml", ok)
    expect("a bad option value is a usage error", code == 2, f"exit {code}")
    code, out, err = run("frobnicate")
    expect("an unknown command is a usage error", code == 2, f"exit {code}")

    code, out, err = run("check", ok)
    expect("a clean file exits 0", code == 0, err)
    expect("the summary names files and flows", "1 file, 1 flow checked" in err, err)
    code, out, err = run("check", warn)
    expect("warnings alone exit 0", code == 0 and "warning[WF0404]" in err, err)
    code, out, err = run("check", "--warnings-as-errors", warn)
    expect("--warnings-as-errors turns warnings into errors", code == 1 and "error[WF0404]" in err, err)
    code, out, err = run("check", bad)
    expect("errors exit 1", code == 1 and "error[WF0203]" in err, err)
    expect("human output shows the caret", "   |        ^~~~~~~" in err, err)

    code, out, err = run("check", "--format", "json", bad, ok)
    try:
        data = json.loads(out)
        first = data[0]
        expect("json fields", first["code"] == "WF0203" and first["line"] == 3 and
               first["column"] == 8 and first["severity"] == "error" and
               first["file"].endswith("bad.wf") and first["end_column"] == 15, out)
    except (ValueError, IndexError, KeyError) as e:
        failures.append(f"json output: {e}: {out}")
    code, out, err = run("check", "--format", "github", bad)
    expect("github annotations", err.startswith("::error file=") and "line=3,col=8" in err, err)

    code, out, err = run("check", tmp, "--color=always")
    expect("--color=always paints", "\x1b[" in err, err)
    code, out, err = run("check", os.path.join(tmp, "missing.wf"))
    expect("a missing file is an error", code == 1 and "WF0118" in err, err)

    pizza = os.path.join(root, "examples/flows/pizza.wf")
    out_path = os.path.join(tmp, "out", "pizza.wf")
    os.makedirs(os.path.dirname(out_path))
    code, out, err = run("convert", pizza, "--to", "dsl", "-o", out_path)
    expect("convert writes the output file", code == 0 and os.path.exists(out_path), err)
    if os.path.exists(out_path):
        code, out, err = run("check", out_path)
        expect("the converted flow checks clean", code == 0, err)
        code2, again, err2 = run("convert", out_path, "--to", "dsl")
        expect("converting the output again is stable",
               again == open(out_path, encoding="utf-8").read(), again)
    broken = write("broken.txt.wf", 'flow broken\n  say "unterminated\n')
    target = os.path.join(tmp, "never.wf")
    code, out, err = run("convert", broken, "--to", "dsl", "-o", target)
    expect("convert refuses input it cannot read", code == 1 and not os.path.exists(target)
           and "WF0104" in err, err)
    code, out, err = run("convert", bad, "--to", "dsl")
    expect("convert keeps a flow whose checks fail", code == 0 and "goto nowhere" in out, err)
    code, out, err = run("convert", pizza)
    expect("convert without --to is a usage error", code == 2, err)

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
