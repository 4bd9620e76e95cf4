#!/usr/bin/env python3
"""End-to-end tests of a device's AI fallback chatbot in `waflow serve`.

The real binary runs on 127.0.0.1 with a SQLite file in a temp dir, the pizza flow
(trigger exact "hi"), its Graph API pointed at the mock of serve_meta_test.py and its
model at the mock OpenAI-compatible server of serve_ai_test.py. The device has an
`ai_fallback`: a message no flow takes is answered by the model; a message that matches
a trigger starts the flow instead; a model that is down leaves the contact unanswered
and the log says why.

Nothing sleeps to wait for something: every wait polls with a bound.

  serve_fallback_test.py --waflow build/waflow [unittest args]
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_meta_test as meta  # noqa: E402  (the Graph mock and the server process)
import serve_ai_test as ai  # noqa: E402  (the mock models)

WAIT_S = 30


class FallbackServer(meta.Server):
    """waflow serve with the pizza flow and a fallback chatbot on its device."""

    def __init__(self, workdir, graph_port, models_port):
        super().__init__(workdir, graph_port)
        base = "http://127.0.0.1:%d" % models_port
        with open(self.config, "a") as f:
            f.write(f"""    ai_fallback:
      system: "You answer for Pizza Bot. The customer is {{{{contact.name}}}}."
      history: 4
ai:
  models:
    mock/primary:
      provider: openai
      model: primary-1
      base_url: {base}/primary/v1
      max_retries: 1
      timeout: 10s
""")


class ServeFallback(ai.ServeWithModels):
    prefix = "waflow-serve-fallback-"
    sender = "Ana"

    def make_server(self, workdir, graph_port, models_port):
        return FallbackServer(workdir, graph_port, models_port)

    def wait_log(self, needle):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            log = self.server.read_log()
            if needle in log:
                return log
            time.sleep(0.05)
        raise AssertionError("no %r in the log:\n%s" % (needle, self.server.read_log()))

    def test_an_unmatched_message_is_answered_by_the_model(self):
        wa = "15550002001"
        self.say(wa, "do you deliver on sundays?")
        self.assertEqual(self.texts(wa, 1), ["primary says: do you deliver on sundays?"])
        body = self.models.got("primary")[0]
        self.assertEqual(body["model"], "primary-1")
        self.assertEqual(body["messages"][0], {
            "role": "system", "content": "You answer for Pizza Bot. The customer is Ana."})
        self.assertEqual(body["messages"][-1],
                         {"role": "user", "content": "do you deliver on sundays?"})
        # The next turn sees the exchange as history.
        self.server.settle()
        self.say(wa, "and on mondays?")
        self.assertEqual(self.texts(wa, 2)[1], "primary says: and on mondays?")
        self.assertEqual(self.models.got("primary")[1]["messages"][1:], [
            {"role": "user", "content": "do you deliver on sundays?"},
            {"role": "assistant", "content": "primary says: do you deliver on sundays?"},
            {"role": "user", "content": "and on mondays?"},
        ])
        self.assertIn('"step":"ai_fallback"', self.server.read_log())

    def test_a_message_that_matches_a_trigger_starts_the_flow_instead(self):
        wa = "15550002002"
        self.say(wa, "hi")
        self.assertEqual(self.texts(wa, 2), ["Welcome to Pizza Bot, Ana!", "What would you like?"])
        # The flow is waiting: its ask takes the next message, not the fallback.
        self.say(wa, "what do you have?")
        self.texts(wa, 3)
        self.server.settle()
        self.assertEqual(self.models.got("primary"), [])

    def test_a_model_that_is_down_leaves_the_message_unanswered_and_logs_it(self):
        wa = "15550002003"
        self.models.script("primary", [(500, {}, ai.error_body(500)), (500, {}, ai.error_body(500)),
                                       (200, {}, None)])
        self.say(wa, "hello?")
        log = self.wait_log('"event":"ai_fallback_failed"')
        self.assertIn(wa, [line for line in log.splitlines() if "ai_fallback_failed" in line][0])
        self.server.settle()
        self.assertEqual(self.graph.to(wa), [])
        self.assertEqual(len(self.models.got("primary")), 2)  # 1 + max_retries 1, no more.
        # The next message is answered again.
        self.say(wa, "hello again")
        self.assertEqual(self.texts(wa, 1), ["primary says: hello again"])


if __name__ == "__main__":
    meta.run_tests()
