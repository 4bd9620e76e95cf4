#!/usr/bin/env python3
"""Generates a large, valid .wf project for the check benchmark.

  gen_flows.py --steps N OUT.wf      about N steps, spread over flows of ~50 steps
  gen_flows.py --bytes B OUT.wf      flows until the file is at least B bytes
  gen_flows.py --one-flow A OUT.wf   one flow with at least A asks (a huge flow
                                     stresses the per-flow analyses: graph,
                                     used-before-set, the 24-hour window)

The flows mix every common construct (say with buttons, ask of several types with
exits, if/elif/else, match, set, http with mappings, ai steps, goto) so the
benchmark exercises the whole front end and every check, not just the lexer.
"""
import argparse

# Asks in one section (body): choice, qty, ref, again, and the nested ones.
ASKS_PER_SECTION = 4


def header(i):
    return f'''flow f{i} "Generated flow {i}"
  trigger keyword "start{i}" "go{i}"
'''


def declarations(i):
    return f'''  var contact.visits{i}: number = 0
'''


def body(i, n, s=""):
    """The steps of flow `i` (named `n`); `s` suffixes labels and flow variables
    so that many bodies can share one flow."""
    return f'''
  say "Welcome to flow {i}, {{{{contact.name}}}}!"
  set contact.visits{i} = contact.visits{i} + 1
  label menu{s}
  ask choice{s} "What would you like to do?"
    button order "Order"
    button status "Order status"
    button help "Talk to us"
    on invalid retry 3 "Please tap one of the buttons."
      say "Let's try again later."
      end
    on timeout 2h
      say "Come back any time."
      end
  match choice{s}.id
    case "order"
      ask qty{s}: number "How many?"
        on invalid retry 2 "A number, please."
          end
        on timeout 1h
          end
      if qty{s} > 10
        say "That's a lot! We'll check stock."
      elif qty{s} > 0
        say "Great, {{{{qty{s}}}}} it is."
      else
        say "Nothing, then."
        end
      http stock{s} = GET "https://api.example.com/stock/{i}"
        header "Authorization" "Bearer demo"
        timeout 10s
        retries 2
        map available = "$.data.available"
        on error
          say "Stock check is down, sorry."
          end
      if stock{s}.available >= qty{s}
        store order{s} = orders {{item: "{n}", qty: qty{s}}}
        say "Order placed! Reference: {{{{order{s}.id}}}}"
      else
        say "Only {{{{stock{s}.available}}}} left."
    case "status"
      ask ref{s}: text "Your order reference?"
        on timeout 1h
          end
      say "Order {{{{ref{s}}}}} is on its way."
    else
      ai reply
        model "fast"
        system "You help customers of shop {i}. Be brief."
        history 6
        temperature 0.3
        on error
          handoff "AI unavailable" queue "support"
          end
  ask again{s}: yesno "Anything else? (yes/no)"
    on invalid retry 2 "Yes or no?"
      end
    on timeout 30m
      end
  if again{s}
    goto menu{s}
'''


def flow(i):
    return header(i) + declarations(i) + body(i, f"f{i}") + '  say "Bye!"\n'


def one_flow(asks):
    sections = (asks + ASKS_PER_SECTION - 1) // ASKS_PER_SECTION
    out = [header(0)]
    out += [declarations(i) for i in range(sections)]
    out += [body(i, "f0", f"_{i}") for i in range(sections)]
    out.append('  say "Bye!"\n')
    return "".join(out)


def main():
    p = argparse.ArgumentParser()
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--steps", type=int)
    g.add_argument("--bytes", type=int)
    g.add_argument("--one-flow", type=int, metavar="ASKS")
    p.add_argument("out")
    a = p.parse_args()
    if a.one_flow is not None:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(one_flow(a.one_flow))
        return
    out = []
    size = 0
    i = 0
    # Each generated flow has 34 steps (counting nested ones).
    while (a.steps is not None and i * 34 < a.steps) or (a.bytes is not None and size < a.bytes):
        text = flow(i)
        out.append(text)
        size += len(text) + 1
        i += 1
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
