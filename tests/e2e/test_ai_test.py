#!/usr/bin/env python3
"""`waflow test --ai-config FILE`: transcript tests whose AI steps are answered by real models
through the same mapping and router as waflow serve, here the mock OpenAI-compatible server of
serve_ai_test.py on 127.0.0.1. A transcript's AI mocks still answer the steps they fit; HTTP
steps keep their mocks. A passing test, a wrong answer, a model that is down taking the step's
error exit, the transcript without --ai-config, and a config error.

  test_ai_test.py --waflow build/waflow [unittest args]
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

TRANSCRIPT = """flows: ai.wf
tests:
  - name: the model answers, the mock answers the extraction
    mocks:
      - ai: {step: extract_lead, extract: {seats: 12}}
    steps:
      - user: hello
      - expect: "primary says: hello"
      - user: quote
      - expect: "Seats: 12"
  - name: a model that is down takes the error exit
    steps:
      - user: solo
      - expect: Sorry, the assistant is down.
"""


class TestAi(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-test-ai-")
        self.models = serve_ai_test.MockModels()
        self.models.script("solo", [(503, {}, serve_ai_test.error_body(503))])
        base = "http://127.0.0.1:%d" % self.models.port
        with open(os.path.join(self.tmp.name, "ai.wf"), "w") as f:
            f.write(FLOWS)
        self.transcript = os.path.join(self.tmp.name, "ai.test.yaml")
        self.config = os.path.join(self.tmp.name, "ai.yaml")
        with open(self.config, "w") as f:
            f.write(f"""ai:
  default_model: mock/primary
  models:
    mock/primary: {{provider: openai, base_url: {base}/primary/v1, max_retries: 0}}
    mock/solo: {{provider: openai, base_url: {base}/solo/v1, max_retries: 0}}
    mock/extractor: {{provider: openai, base_url: {base}/extractor/v1}}
""")

    def tearDown(self):
        self.models.close()
        self.tmp.cleanup()

    def run_test(self, transcript, *options):
        with open(self.transcript, "w") as f:
            f.write(transcript)
        return subprocess.run([WAFLOW, "test", self.transcript, *options], capture_output=True,
                              text=True, timeout=120)

    def test_the_models_answer_what_no_mock_answers(self):
        out = self.run_test(TRANSCRIPT, "--ai-config", self.config)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("2 passed, 0 failed", out.stdout)
        # The mock answered the extraction: the extractor model was never asked.
        self.assertEqual(self.models.got("extractor"), [])
        self.assertEqual(len(self.models.got("primary")), 1)
        self.assertEqual(self.models.got("primary")[0]["messages"][-1],
                         {"role": "user", "content": "hello"})
        self.assertEqual(len(self.models.got("solo")), 1)

    def test_a_wrong_answer_fails_the_test(self):
        out = self.run_test(TRANSCRIPT.replace('"primary says: hello"', '"Hello!"'),
                            "--ai-config", self.config)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("FAIL the model answers, the mock answers the extraction", out.stdout)
        self.assertIn("the bot's message differs", out.stdout)
        self.assertIn("    - Hello!\n    + primary says: hello\n", out.stdout)
        self.assertIn("1 passed, 1 failed", out.stdout)

    def test_without_ai_config_a_step_without_mock_fails_as_before(self):
        out = self.run_test(TRANSCRIPT)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("no mock answers the ai reply step", out.stdout)
        self.assertEqual(self.models.got("primary"), [])

    def test_a_bad_ai_config_is_an_error(self):
        bad = os.path.join(self.tmp.name, "bad.yaml")
        with open(bad, "w") as f:
            f.write("ai:\n  models:\n    a: {provider: openia}\n")
        out = self.run_test(TRANSCRIPT, "--ai-config", bad)
        self.assertEqual(out.returncode, 1)
        self.assertIn("ai.models.a.provider: unknown provider 'openia'", out.stderr)
        self.assertEqual(out.stdout, "")


def main():
    global WAFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    args, rest = parser.parse_known_args()
    WAFLOW = os.path.abspath(args.waflow)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
