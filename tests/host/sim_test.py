#!/usr/bin/env python3
"""End-to-end tests of `waflow sim` with standard input piped in: the pizza
conversation of the benchmark, numbered options, the virtual clock, /state,
contacts kept apart with /as, mocks from a file, a compiled bundle as input,
and the errors (flows that do not build, a bad mocks file).

  sim_test.py WAFLOW SRC
"""
import os
import subprocess
import sys
import tempfile

waflow, root = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = []
PIZZA = os.path.join(root, "examples/flows/pizza.wf")


def sim(script, *args):
    p = subprocess.run([waflow, "sim", *args], input=script, capture_output=True, text=True,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
    return p.returncode, p.stdout, p.stderr


def expect(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}:\n{detail}")


CONVERSATION = """hi
2
1 Baker Street, flat 1
yes
hi
1
2 Baker Street
no
"""

code, out, err = sim(CONVERSATION, PIZZA, "--name", "User 1", "--now", "2025-01-06T09:00:00Z")
expect("the pizza conversation exits 0", code == 0, out + err)
expected = """waflow sim: 1 flow (pizza). You are User 1 (+15550000001); it is 2025-01-06 09:00 UTC.
Type messages; a number taps an option; /help lists commands.
> hi
  · flow pizza starts
bot: Welcome to Pizza Bot, User 1!
bot: What would you like?
       1. Margherita
       2. Pepperoni
> 2
bot: Great choice: Pepperoni. What is your address?
> 1 Baker Street, flat 1
bot: Order for Pepperoni to 1 Baker Street, flat 1. Confirm? (yes/no)
> yes
  · store orders {"pizza":"Pepperoni","address":"1 Baker Street, flat 1"} -> id orders-1
bot: Order placed! Reference: orders-1
  · the run ended
> hi
  · flow pizza starts
bot: Welcome to Pizza Bot, User 1!
bot: What would you like?
       1. Margherita
       2. Pepperoni
> 1
bot: Great choice: Margherita. What is your address?
> 2 Baker Street
bot: Order for Margherita to 2 Baker Street. Confirm? (yes/no)
> no
bot: Order cancelled.
  · the run ended
"""
expect("the pizza conversation reads as a transcript", out == expected,
       "--- expected\n" + expected + "--- got\n" + out)

code, out, err = sim("hi\n/state\n/advance 23h\n/state\n/advance 1h\n/state\nhello\n/quit\nhi\n",
                     PIZZA, "--now", "2025-01-06T09:00:00Z")
expect("/state shows the waiting run and its timer",
       "  run: pizza at step ask_choice (waits for the user)\n"
       "  timer: timeout at 2025-01-07 09:00 UTC (in 1d)\n" in out, out)
expect("/advance moves the clock", "  ~ 23h later: 2025-01-07 08:00 UTC\n" in out, out)
expect("the timeout fires after a day",
       "  ~ 1h later: 2025-01-07 09:00 UTC\n  · no answer in time: ask_choice times out\n"
       "  · the run ended\n" in out, out)
expect("a message nobody takes is noted",
       "> hello\n  · no flow takes this message: the bot stays silent\n" in out, out)
expect("/quit stops reading", out.count("> hi") == 1, out)

code, out, err = sim("hi\n/as +15550000002 User 2\nhi\n2\n/as +15550000001\n1\n/vars\n", PIZZA)
expect("each contact keeps its own run",
       "> 2\nbot: Great choice: Pepperoni. What is your address?\n" in out and
       "> 1\nbot: Great choice: Margherita. What is your address?\n" in out, out)
expect("/vars shows the flow's variables", '  pizza: choice = {"id":"margherita","title":"Margherita"}' in out, out)
expect("/as names the contact", "  · you are User 2 (+15550000002)\n" in out, out)

with tempfile.TemporaryDirectory() as tmp:
    bundle = os.path.join(tmp, "pizza.wfb")
    p = subprocess.run([waflow, "build", "-q", "-o", bundle, PIZZA], capture_output=True, text=True)
    expect("the bundle builds", p.returncode == 0, p.stderr)
    code, out, err = sim("hi\n", bundle, "--name", "Ada")
    expect("a bundle can be simulated", code == 0 and "bot: Welcome to Pizza Bot, Ada!" in out,
           out + err)

    flow = os.path.join(tmp, "ask.wf")
    with open(flow, "w") as f:
        f.write('flow ask\n  trigger keyword "go"\n  ai reply\n  http GET "https://api.example.com/x"\n'
                '    on error\n      say "no api"\n  say "done"\n')
    code, out, err = sim("go\n", flow)
    expect("an AI step without a mock gets a placeholder and a note",
           "bot: [no AI in the simulator: ai reply ai_reply_1 needs a mock, see --mocks]" in out and
           "  · no mock answers the ai reply step 'ai_reply_1'" in out, out + err)
    expect("an HTTP call without a mock fails", "bot: no api\n" in out, out)
    mocks = os.path.join(tmp, "mocks.yaml")
    with open(mocks, "w") as f:
        f.write("mocks:\n  - ai: {reply: Hello from the model}\n"
                "  - http: {url: api.example.com, body: {}}\n")
    code, out, err = sim("go\n", flow, "--mocks", mocks)
    expect("mocks answer AI and HTTP",
           "bot: Hello from the model\n  · http GET https://api.example.com/x -> status 200\n"
           "bot: done\n" in out and "no mock" not in out, out + err)
    with open(mocks, "w") as f:
        f.write("mocks:\n  - ai: {step: x}\n")
    code, out, err = sim("go\n", flow, "--mocks", mocks)
    expect("a bad mocks file is an error with its line",
           code == 1 and "mocks.yaml:2:9: error: an ai mock needs an answer" in err, out + err)
    broken = os.path.join(tmp, "broken.wf")
    with open(broken, "w") as f:
        f.write('flow broken\n  trigger keyword "x"\n  goto nowhere\n')
    code, out, err = sim("x\n", broken)
    expect("flows with errors are not simulated", code == 1 and "error[WF0203]" in err, out + err)
    code, out, err = sim("", PIZZA, "--now", "yesterday")
    expect("a bad --now is a usage error", code == 2, out + err)

for f in failures:
    print("FAIL", f)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
