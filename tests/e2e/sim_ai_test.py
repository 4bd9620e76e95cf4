#!/usr/bin/env python3
"""`waflow sim --ai-config FILE`: AI steps answered by real models through the same mapping and
router as waflow serve, here a mock OpenAI-compatible server on 127.0.0.1 (the one of
serve_ai_test.py). A reply, the history window, failover to the fallback, the error exit of a
model that is down, an extraction that asks a follow-up question, and a config error.

  sim_ai_test.py --waflow build/waflow [unittest args]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_ai_test  # noqa: E402

WAFLOW = None

FLOWS = """
flow lead "Lead"
  trigger keyword "quote"

  ai extract lead
    model "mock/extractor"
    timeout 1h
    field seats: number "How many seats"
    on error
      say "Extraction failed."
      end
  say "Seats: {{lead.seats}}"

flow solo "Down"
  trigger keyword "solo"

  ai reply
    model "mock/solo"
    on error
      say "Sorry, the assistant is down."

flow chat "The assistant"
  trigger any

  ai reply
    history 4
    on error
      say "Sorry, no answer."
"""


class SimAi(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-sim-ai-")
        self.models = serve_ai_test.MockModels()
        base = "http://127.0.0.1:%d" % self.models.port
        self.flows = os.path.join(self.tmp.name, "ai.wf")
        with open(self.flows, "w") as f:
            f.write(FLOWS)
        self.config = os.path.join(self.tmp.name, "ai.yaml")
        with open(self.config, "w") as f:
            f.write(f"""ai:
  default_model: mock/primary
  models:
    mock/primary:
      provider: openai
      base_url: {base}/primary/v1
      max_retries: 0
      fallback: [mock/backup]
    mock/backup: {{provider: openai, base_url: {base}/backup/v1}}
    mock/solo: {{provider: openai, base_url: {base}/solo/v1, max_retries: 0}}
    mock/extractor: {{provider: openai, base_url: {base}/extractor/v1}}
""")

    def tearDown(self):
        self.models.close()
        self.tmp.cleanup()

    def sim(self, lines, config=None):
        return subprocess.run(
            [WAFLOW, "sim", self.flows, "--ai-config", config or self.config,
             "--now", "2025-01-06T09:00:00Z"],
            input="".join(line + "\n" for line in lines), capture_output=True, text=True,
            timeout=120)

    def test_reply_history_and_failover(self):
        self.models.script("primary", [(200, {}, None), (500, {}, serve_ai_test.error_body(500))])
        out = self.sim(["hello", "again"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("primary says: hello", out.stdout)
        self.assertIn("backup says: again", out.stdout)
        messages = self.models.got("backup")[0]["messages"]
        self.assertEqual(messages, [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "primary says: hello"},
            {"role": "user", "content": "again"},
        ])

    def test_a_model_down_takes_the_error_exit(self):
        self.models.script("solo", [(503, {}, serve_ai_test.error_body(503))])
        out = self.sim(["solo"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Sorry, the assistant is down.", out.stdout)

    def test_extract_asks_then_completes(self):
        def answer(text):
            return {"id": "x", "model": "m", "usage": {"prompt_tokens": 1, "completion_tokens": 1},
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}]}
        self.models.script("extractor", [
            (200, {}, answer('{"complete":false,"value":{"seats":null},'
                             '"question":"How many seats do you need?"}')),
            (200, {}, answer('{"complete":true,"value":{"seats":12},"question":null}')),
        ])
        out = self.sim(["quote", "twelve"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("How many seats do you need?", out.stdout)
        self.assertIn("Seats: 12", out.stdout)
        schema = self.models.got("extractor")[0]["response_format"]["json_schema"]["schema"]
        self.assertEqual(schema["properties"]["value"]["properties"]["seats"]["type"],
                         ["number", "null"])

    def test_a_bad_ai_config_is_an_error(self):
        bad = os.path.join(self.tmp.name, "bad.yaml")
        with open(bad, "w") as f:
            f.write("ai:\n  models:\n    a: {provider: openia}\n")
        out = self.sim(["hello"], config=bad)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("ai.models.a.provider: unknown provider 'openia'", out.stderr)


def main():
    global WAFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    args, rest = parser.parse_known_args()
    WAFLOW = os.path.abspath(args.waflow)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
