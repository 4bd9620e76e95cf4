#!/usr/bin/env python3
"""End-to-end tests of `waflow test`: exit statuses, the failure report, JUnit
XML, coverage as a table and as JSON, --min-coverage, --filter, mistakes in a
transcript and flows that do not build. Runs the real binary on files in a
temporary directory.

  test_command.py WAFLOW
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

waflow = os.path.abspath(sys.argv[1])
failures = []


def run(*args, cwd=None):
    p = subprocess.run([waflow, "test", *args], capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
    return p.returncode, p.stdout, p.stderr


def expect(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


FLOW = '''flow greet
  trigger keyword "hi"
  ask name "What's your name?"
    on timeout 1h
      say "Bye."
      end
  if name == "Ada"
    say "Hello, Ada!"
  else
    say "Hi {{name}}."

flow other
  trigger keyword "other"
  say "Other."
'''

PASSING = '''tests:
  - name: ada
    steps:
      - user: hi
      - expect: What's your name?
      - user: Ada
      - expect: Hello, Ada!
  - name: someone else
    steps:
      - user: hi
      - expect: What's your name?
      - user: Bob
      - expect: Hi Bob.
'''

FAILING = '''tests:
  - name: wrong greeting
    steps:
      - user: hi
      - expect: What's your name?
      - user: Bob
      - expect: Hello, Bob!
'''

with tempfile.TemporaryDirectory() as tmp:
    def write(name, text):
        path = os.path.join(tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    write("ok/greet.wf", FLOW)
    write("ok/greet.test.yaml", PASSING)
    code, out, err = run("ok", cwd=tmp)
    expect("passing tests exit 0", code == 0, out + err)
    expect("each test is listed", "  ok   ada\n" in out and "  ok   someone else\n" in out, out)
    expect("the closing line counts", out.rstrip().endswith("2 passed, 0 failed"), out)

    # Coverage: the other flow is never run, and the timeout branch is missed.
    cov = os.path.join(tmp, "cov.json")
    code, out, err = run("--coverage", "--coverage-json", cov, "ok", cwd=tmp)
    expect("coverage alone does not fail", code == 0, out + err)
    expect("the table names each flow", "greet" in out and "other" in out and "total" in out, out)
    expect("missed steps are listed", "never reached: say_1, end_1" in out, out)
    data = json.load(open(cov))
    flows = {f["flow"]: f for f in data["flows"]}
    expect("json has both flows", set(flows) == {"greet", "other"}, str(flows.keys()))
    greet = flows.get("greet", {})
    expect("json step counts", greet.get("steps", {}).get("covered") == 4 and
           greet["steps"]["total"] == 6, json.dumps(greet))
    expect("json missed steps", greet.get("steps", {}).get("missed") == ["say_1", "end_1"],
           json.dumps(greet))
    expect("json missed edges name the exit as null",
           {"from": "end_1", "to": None} in greet.get("edges", {}).get("missed", []),
           json.dumps(greet))
    expect("json other flow at 0", flows.get("other", {}).get("steps", {}).get("percent") == 0,
           json.dumps(flows.get("other")))
    code, out, err = run("--min-coverage", "90", "ok", cwd=tmp)
    expect("--min-coverage fails below", code == 1, out + err)
    expect("--min-coverage names the flow and the steps",
           "flow greet (ok/greet.wf) covers 4 of 6 steps (66.7%), below --min-coverage 90; "
           "never reached: say_1, end_1" in err, err)
    code, out, err = run("--min-coverage", "0", "ok", cwd=tmp)
    expect("--min-coverage 0 passes", code == 0, out + err)
    code, out, err = run("--min-coverage", "120", "ok", cwd=tmp)
    expect("--min-coverage above 100 is a usage error", code == 2, out + err)
    code, out, err = run("-k", "ada", "ok", cwd=tmp)
    expect("--filter runs matching tests", "1 passed, 0 failed" in out and "someone" not in out, out)

    # A failing test: exit 1, the diff and the conversation so far, JUnit.
    write("bad/greet.wf", FLOW)
    write("bad/greet.test.yaml", FAILING)
    junit = os.path.join(tmp, "junit.xml")
    code, out, err = run("--junit", junit, "bad", cwd=tmp)
    expect("a failing test exits 1", code == 1, out + err)
    expect("the failure names file and line",
           "bad/greet.test.yaml:7: the bot's message differs" in out, out)
    expect("the diff shows both sides",
           "    - Hello, Bob!\n    + Hi Bob.\n" in out, out)
    expect("the conversation so far is shown", "    > Bob\n    < Hi Bob.\n" in out, out)
    expect("the closing line counts failures", out.rstrip().endswith("0 passed, 1 failed"), out)
    try:
        root = ET.parse(junit).getroot()
        case = root.find("testsuite/testcase")
        expect("junit counts", root.get("tests") == "1" and root.get("failures") == "1",
               ET.tostring(root, encoding="unicode"))
        expect("junit failure message",
               case is not None and case.find("failure").get("message") ==
               "line 7: the bot's message differs", ET.tostring(root, encoding="unicode"))
    except ET.ParseError as e:
        failures.append(f"junit is not XML: {e}")

    # Mistakes in a transcript are errors with a position; the file counts as failed.
    write("typo/greet.wf", FLOW)
    write("typo/greet.test.yaml", "tests:\n  - name: t\n    steps:\n      - usr: hi\n")
    code, out, err = run("typo", cwd=tmp)
    expect("a transcript mistake exits 1", code == 1, out + err)
    expect("a transcript mistake has a position",
           "typo/greet.test.yaml:4:9: error: unknown step 'usr'" in err, err)

    # Flows with errors fail every test of the transcript, with the diagnostics.
    write("broken/flow.wf", 'flow broken\n  trigger keyword "x"\n  goto nowhere\n')
    write("broken/flow.test.yaml", "tests:\n  - name: t\n    steps:\n      - user: x\n")
    code, out, err = run("broken", cwd=tmp)
    expect("flows with errors fail the tests", code == 1 and "FAIL t" in out, out + err)
    expect("their diagnostics are shown", "error[WF0203]" in out, out)

    # `flows:` narrows the build to some files of the folder.
    write("two/a.wf", 'flow a\n  trigger any\n  say "from a"\n')
    write("two/b.wf", 'flow b\n  trigger keyword "b"\n  say "from b"\n')
    write("two/b.test.yaml",
          "flows: b.wf\ntests:\n  - name: only b\n    steps:\n"
          "      - user: hello\n      - expect_none\n      - user: b\n      - expect: from b\n")
    code, out, err = run("two/b.test.yaml", cwd=tmp)
    expect("flows: builds only the files named", code == 0, out + err)

    code, out, err = run(cwd=os.path.join(tmp, "ok"))
    expect("the current folder is the default", code == 0 and "2 passed" in out, out + err)
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    code, out, err = run(empty)
    expect("no transcripts is an error", code == 1 and "no transcript tests" in err, out + err)
    code, out, err = run(os.path.join(tmp, "missing"))
    expect("a missing path is an error", code == 1 and "no such file" in err, out + err)

    # waflow check skips transcripts in folders.
    p = subprocess.run([waflow, "check", os.path.join(tmp, "ok")], capture_output=True, text=True)
    expect("waflow check skips *.test.yaml", p.returncode == 0 and "1 file" in p.stderr, p.stderr)

for f in failures:
    print("FAIL", f)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
