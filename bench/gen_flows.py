#!/usr/bin/env python3
"""Generates a large, valid .wf project for the check benchmark.

  gen_flows.py --steps N OUT.wf      about N steps, spread over flows of ~50 steps
  gen_flows.py --bytes B OUT.wf      flows until the file is at least B bytes

The flows mix every common construct (say with buttons, ask of several types with
exits, if/elif/else, match, set, http with mappings, ai steps, goto) so the
benchmark exercises the whole front end and every check, not just the lexer.
"""
import argparse


def flow(i):
    n = f"f{i}"
    return f'''flow {n} "Generated flow {i}"
  trigger keyword "start{i}" "go{i}"
  var contact.visits{i}: number = 0

  say "Welcome to flow {i}, {{{{contact.name}}}}!"
  set contact.visits{i} = contact.visits{i} + 1
  label menu
  ask choice "What would you like to do?"
    button order "Order"
    button status "Order status"
    button help "Talk to us"
    on invalid retry 3 "Please tap one of the buttons."
      say "Let's try again later."
      end
    on timeout 2h
      say "Come back any time."
      end
  match choice.id
    case "order"
      ask qty: number "How many?"
        on invalid retry 2 "A number, please."
          end
        on timeout 1h
          end
      if qty > 10
        say "That's a lot! We'll check stock."
      elif qty > 0
        say "Great, {{{{qty}}}} it is."
      else
        say "Nothing, then."
        end
      http stock = GET "https://api.example.com/stock/{i}"
        header "Authorization" "Bearer demo"
        timeout 10s
        retries 2
        map available = "$.data.available"
        on error
          say "Stock check is down, sorry."
          end
      if stock.available >= qty
        store order = orders {{item: "{n}", qty: qty}}
        say "Order placed! Reference: {{{{order.id}}}}"
      else
        say "Only {{{{stock.available}}}} left."
    case "status"
      ask ref: text "Your order reference?"
        on timeout 1h
          end
      say "Order {{{{ref}}}} is on its way."
    else
      ai reply
        model "fast"
        system "You help customers of shop {i}. Be brief."
        history 6
        temperature 0.3
        on error
          handoff "AI unavailable" queue "support"
          end
  ask again: yesno "Anything else? (yes/no)"
    on invalid retry 2 "Yes or no?"
      end
    on timeout 30m
      end
  if again
    goto menu
  say "Bye!"
'''


def main():
    p = argparse.ArgumentParser()
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--steps", type=int)
    g.add_argument("--bytes", type=int)
    p.add_argument("out")
    a = p.parse_args()
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
