#!/usr/bin/env python3
"""End-to-end tests of AI steps in `waflow serve`.

The real binary runs on 127.0.0.1 with a SQLite file in a temp dir, its Graph API
pointed at the mock of serve_meta_test.py, and its models at a mock
OpenAI-compatible server (http.server on 127.0.0.1) that plays several models:
/<name>/v1/chat/completions answers from <name>'s script (the last line repeats),
by default with "<name> says: <the last user message>". Every request body is
recorded, so tests see the messages a model got.

Nothing sleeps to wait for something: every wait polls with a bound.

  serve_ai_test.py --waflow build/waflow [unittest args, e.g. ServeAi.test_reply]
"""

import argparse
import http.server
import json
import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_meta_test as meta  # noqa: E402  (the Graph mock and the server process)

FLOWS = """
flow solo "A model with no fallback"
  trigger keyword "solo"

  ai reply
    model "mock/solo"
    timeout 20s
    on error
      say "Sorry, the assistant is down."
  say "Still here."

flow chat "The assistant"
  trigger any

  ai reply
    model "mock/primary"
    system "You are the shop's assistant."
    history 4
    timeout 30s
    on error
      say "Sorry, no answer."
"""


class MockModels:
    """Models on one OpenAI-compatible server, each with a script of answers."""

    def __init__(self):
        self.cond = threading.Condition()
        self.requests = {}  # name -> [request body]
        self.scripts = {}  # name -> [(status, headers, body or None)]
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                name = self.path.split("/")[1]
                with mock.cond:
                    mock.requests.setdefault(name, []).append(body)
                    script = mock.scripts.get(name) or [(200, {}, None)]
                    status, headers, answer = script[0]
                    if len(script) > 1:
                        script.pop(0)
                    mock.cond.notify_all()
                if answer is None:
                    last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
                    answer = {
                        "id": "chatcmpl-1", "object": "chat.completion", "model": name,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant",
                                                 "content": "%s says: %s" % (name, last)}}],
                        "usage": {"prompt_tokens": 12, "completion_tokens": 3},
                    }
                data = json.dumps(answer).encode()
                head = "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n" % status
                for k, v in headers.items():
                    head += "%s: %s\r\n" % (k, v)
                head += "Content-Length: %d\r\n\r\n" % len(data)
                self.wfile.write(head.encode() + data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def script(self, name, lines):
        with self.cond:
            self.scripts[name] = list(lines)

    def got(self, name):
        with self.cond:
            return list(self.requests.get(name, []))


def error_body(status):
    return {"error": {"message": "scripted %d" % status, "type": "server_error",
                      "code": "server_error"}}


class AiServer(meta.Server):
    """waflow serve with the AI flows and an ai: section for the mock models."""

    def __init__(self, workdir, graph_port, models_port):
        flows = os.path.join(workdir, "ai.wf")
        with open(flows, "w") as f:
            f.write(FLOWS)
        super().__init__(workdir, graph_port, flows=flows)
        base = "http://127.0.0.1:%d" % models_port
        with open(self.config, "a") as f:
            f.write(f"""ai:
  default_model: mock/primary
  models:
    mock/primary:
      provider: openai
      model: primary-1
      api_key: ${{E2E_AI_KEY}}
      base_url: {base}/primary/v1
      max_retries: 1
      timeout: 10s
      fallback: [mock/backup]
    mock/backup:
      provider: openai
      base_url: {base}/backup/v1
    mock/solo:
      provider: openai
      base_url: {base}/solo/v1
      max_retries: 1
""")

    def start(self):
        os.environ["E2E_AI_KEY"] = "sk-e2e-secret"
        super().start()


class ServeAi(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-serve-ai-")
        self.graph = meta.MockGraph()
        self.models = MockModels()
        self.server = AiServer(self.tmp.name, self.graph.port, self.models.port)
        self.server.start()
        self.seq = 0

    def tearDown(self):
        try:
            code = self.server.stop()
            if code not in (None, 0):
                print(self.server.read_log(), file=sys.stderr)
            self.assertIn(code, (None, 0), "waflow serve did not stop cleanly")
        finally:
            self.graph.close()
            self.models.close()
            self.tmp.cleanup()

    def say(self, wa_id, text):
        self.seq += 1
        msg_id = "wamid.in.%s.%d" % (self._testMethodName, self.seq)
        payload = meta.message_webhook(wa_id, "User", meta.text_message(wa_id, msg_id, text))
        status, body = self.server.webhook(payload)
        self.assertEqual(status, 200, body)

    def texts(self, wa_id, count):
        return [meta.text_of(s) for s in self.graph.wait_for(wa_id, count)]

    def test_reply(self):
        wa = "15550001001"
        self.say(wa, "hello there")
        self.assertEqual(self.texts(wa, 1), ["primary says: hello there"])
        body = self.models.got("primary")[0]
        self.assertEqual(body["model"], "primary-1")
        self.assertEqual(body["messages"][0],
                         {"role": "system", "content": "You are the shop's assistant."})
        self.assertEqual(body["messages"][-1], {"role": "user", "content": "hello there"})
        log = self.server.read_log()
        self.assertIn('"event":"ai_call"', log)
        self.assertNotIn("sk-e2e-secret", log)
        self.assertNotIn("hello there", [line for line in log.splitlines()
                                         if '"ai_call"' in line][0])
        status, metrics = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        metrics = metrics.decode()
        self.assertIn('waflow_llm_request_duration_seconds_count{provider="openai",'
                      'model="mock/primary",outcome="ok"} 1', metrics)
        self.assertIn('waflow_llm_tokens_total{provider="openai",model="mock/primary",'
                      'direction="input"} 12', metrics)

    def test_rate_limit_then_answer(self):
        wa = "15550001002"
        self.models.script("primary", [
            (429, {"Retry-After": "1"}, error_body(429)),
            (200, {}, None),
        ])
        self.say(wa, "busy?")
        self.assertEqual(self.texts(wa, 1), ["primary says: busy?"])
        self.assertEqual(len(self.models.got("primary")), 2)
        self.assertEqual(self.models.got("backup"), [])

    def test_server_error_fails_over_to_the_fallback(self):
        wa = "15550001003"
        self.models.script("primary", [(500, {}, error_body(500))])
        self.say(wa, "anyone?")
        self.assertEqual(self.texts(wa, 1), ["backup says: anyone?"])
        self.assertEqual(len(self.models.got("primary")), 2)  # 1 + max_retries 1
        self.assertEqual(self.models.got("backup")[0]["model"], "backup")

    def test_a_model_down_without_fallback_takes_the_error_exit(self):
        wa = "15550001004"
        self.models.script("solo", [(503, {}, error_body(503))])
        self.say(wa, "solo")
        self.assertEqual(self.texts(wa, 2), ["Sorry, the assistant is down.", "Still here."])
        # The conversation goes on: the next message gets an answer.
        self.models.script("solo", [(200, {}, None)])
        self.say(wa, "solo")
        self.assertEqual(self.texts(wa, 4)[2:], ["solo says: solo", "Still here."])
        self.assertIn('"ai_call"', self.server.read_log())

    def test_the_history_window_reaches_the_model(self):
        wa = "15550001005"
        self.say(wa, "my name is Ana")
        self.assertEqual(self.texts(wa, 1), ["primary says: my name is Ana"])
        self.server.settle()
        self.say(wa, "what is my name?")
        self.assertEqual(self.texts(wa, 2)[1], "primary says: what is my name?")
        messages = self.models.got("primary")[1]["messages"]
        self.assertEqual(messages[1:], [
            {"role": "user", "content": "my name is Ana"},
            {"role": "assistant", "content": "primary says: my name is Ana"},
            {"role": "user", "content": "what is my name?"},
        ])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    args, rest = parser.parse_known_args()
    meta.WAFLOW = os.path.abspath(args.waflow)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
