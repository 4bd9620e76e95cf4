#!/usr/bin/env python3
"""End-to-end tests of AI steps in `waflow serve`.

The real binary runs on 127.0.0.1 with a SQLite file in a temp dir, its Graph API
pointed at the mock of serve_meta_test.py, and its models at a mock
OpenAI-compatible server (http.server on 127.0.0.1) that plays several models:
/<name>/v1/chat/completions answers from <name>'s script (the last line repeats),
by default with "<name> says: <the last user message>". Every request body is
recorded, so tests see the messages a model got; a model can be held, so its
answers wait until the test releases them (a slow model).

Also: each HTTP attempt timed on its own in /metrics, the AI usage of each step in
GET /api/v1/stats and `waflow query stats`, and a burst of messages through an AI
step's buffer (one request for the burst; a message that arrives while the model
is answering makes the next turn after it).

Nothing sleeps to wait for something: every wait polls with a bound.

  serve_ai_test.py --waflow build/waflow [unittest args, e.g. ServeAi.test_reply]
"""

import http.server
import json
import os
import sqlite3
import subprocess
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

BURST_FLOWS = """
flow chat "The assistant, answering bursts once"
  trigger any

  ai reply
    model "mock/primary"
    buffer 2s
    timeout 30s
    on error
      say "Sorry, no answer."
"""

READER = "e2e-ai-reader-5d1e"


class MockModels:
    """Models on one OpenAI-compatible server, each with a script of answers."""

    def __init__(self):
        self.cond = threading.Condition()
        self.requests = {}  # name -> [request body]
        self.scripts = {}  # name -> [(status, headers, body or None)]
        self.gates = {}  # name -> threading.Event: answers wait until it is set
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
                    gate = mock.gates.get(name)
                    mock.cond.notify_all()
                if gate is not None:
                    gate.wait(meta.WAIT_S)
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
        with self.cond:
            gates, self.gates = list(self.gates.values()), {}
        for gate in gates:
            gate.set()
        self.server.shutdown()
        self.server.server_close()

    def script(self, name, lines):
        with self.cond:
            self.scripts[name] = list(lines)

    def got(self, name):
        with self.cond:
            return list(self.requests.get(name, []))

    def wait_for(self, name, count):
        """The first `count` requests to `name`, waiting for them with a bound."""
        deadline = time.monotonic() + meta.WAIT_S
        with self.cond:
            while len(self.requests.get(name, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s got %d requests, not %d" %
                                         (name, len(self.requests.get(name, [])), count))
                self.cond.wait(left)
            return list(self.requests[name][:count])

    def hold(self, name):
        """From now on, answers of `name` wait until release()."""
        with self.cond:
            self.gates[name] = threading.Event()

    def release(self, name):
        with self.cond:
            gate = self.gates.pop(name, None)
        if gate is not None:
            gate.set()


def error_body(status):
    return {"error": {"message": "scripted %d" % status, "type": "server_error",
                      "code": "server_error"}}


class AiServer(meta.Server):
    """waflow serve with the AI flows and an ai: section for the mock models."""

    def __init__(self, workdir, graph_port, models_port, flows_text=FLOWS):
        flows = os.path.join(workdir, "ai.wf")
        with open(flows, "w") as f:
            f.write(flows_text)
        super().__init__(workdir, graph_port, flows=flows)
        base = "http://127.0.0.1:%d" % models_port
        with open(self.config, "a") as f:
            f.write(f"""api: {{tokens: [{{token: {READER}, scopes: [read]}}]}}
ai:
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


class ServeWithModels(unittest.TestCase):
    """waflow serve with a mock Graph API and mock models, for the serve e2e cases that use
    models: subclasses say how to make the server (and may change the mocks)."""

    prefix = "waflow-serve-ai-"
    sender = "User"  # The contact's profile name in the webhooks.

    def make_graph(self):
        return meta.MockGraph()

    def make_models(self):
        return MockModels()

    def make_server(self, workdir, graph_port, models_port):
        raise NotImplementedError

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix=self.prefix)
        self.graph = self.make_graph()
        self.models = self.make_models()
        self.server = self.make_server(self.tmp.name, self.graph.port, self.models.port)
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

    def next_id(self):
        self.seq += 1
        return "wamid.in.%s.%d" % (self._testMethodName, self.seq)

    def say(self, wa_id, text):
        payload = meta.message_webhook(wa_id, self.sender,
                                       meta.text_message(wa_id, self.next_id(), text))
        status, body = self.server.webhook(payload)
        self.assertEqual(status, 200, body)

    def texts(self, wa_id, count):
        return [meta.text_of(s) for s in self.graph.wait_for(wa_id, count)]


class ServeAi(ServeWithModels):
    def make_server(self, workdir, graph_port, models_port):
        return AiServer(workdir, graph_port, models_port)

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
                      'model="mock/primary",result="ok"} 1', metrics)
        self.assertIn('waflow_ai_step_duration_seconds_count{provider="openai",'
                      'model="mock/primary",result="ok"} 1', metrics)
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

    def test_a_server_error_then_an_answer_is_timed_as_two_attempts(self):
        wa = "15550001006"
        self.models.script("primary", [(500, {}, error_body(500)), (200, {}, None)])
        self.say(wa, "retry me")
        self.assertEqual(self.texts(wa, 1), ["primary says: retry me"])
        # Every attempt was observed before its step answered, so before the reply.
        samples = metric_samples(self.server)
        attempts = 'waflow_llm_request_duration_seconds_count{provider="openai",model="mock/primary",'
        self.assertEqual(samples[attempts + 'result="error"}'], 1)
        self.assertEqual(samples[attempts + 'result="ok"}'], 1)
        self.assertEqual(samples['waflow_ai_step_duration_seconds_count{provider="openai",'
                                 'model="mock/primary",result="ok"}'], 1)
        self.assertNotIn("outcome=", "\n".join(k for k in samples if "llm_request" in k))

    def test_usage_in_stats_and_query(self):
        wa = "15550001007"
        self.say(wa, "hello")
        self.assertEqual(self.texts(wa, 1), ["primary says: hello"])
        self.models.script("solo", [(503, {}, error_body(503))])
        self.say(wa, "solo")
        self.assertEqual(self.texts(wa, 3)[1:], ["Sorry, the assistant is down.", "Still here."])
        # A step's usage is stored with its answer, before the reply is made.
        status, body = self.server.request("GET", "/api/v1/stats",
                                           headers={"Authorization": "Bearer " + READER})
        self.assertEqual(status, 200, body)
        usage = json.loads(body)["ai_usage"]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        rows = {u["model"]: u for u in usage}
        self.assertEqual(sorted(rows), ["mock/primary", "mock/solo"], usage)
        primary = rows["mock/primary"]
        self.assertIn(primary["day"], (today, time.strftime("%Y-%m-%d", time.gmtime(
            time.time() - 60))))
        self.assertEqual({k: primary[k] for k in ("provider", "calls", "errors", "input_tokens",
                                                   "output_tokens")},
                         {"provider": "openai", "calls": 1, "errors": 0, "input_tokens": 12,
                          "output_tokens": 3})
        self.assertGreaterEqual(primary["latency_p50_ms"], 0)
        self.assertEqual(primary["latency_mean_ms"], primary["latency_p50_ms"])
        solo = rows["mock/solo"]
        self.assertEqual((solo["calls"], solo["errors"], solo["input_tokens"]), (1, 1, 0))
        # The flow filter applies to usage too.
        status, body = self.server.request("GET", "/api/v1/stats?flow=solo",
                                           headers={"Authorization": "Bearer " + READER})
        self.assertEqual([u["model"] for u in json.loads(body)["ai_usage"]], ["mock/solo"])
        # waflow query stats: the same numbers as JSON and as a table.
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAFLOW_")}
        env.update(WAFLOW_SERVER="http://127.0.0.1:%d" % self.server.port, WAFLOW_TOKEN=READER,
                   LC_ALL="C.UTF-8")
        out = subprocess.run([meta.WAFLOW, "query", "stats", "--json"], env=env, check=True,
                             capture_output=True, text=True, timeout=meta.WAIT_S).stdout
        self.assertEqual(json.loads(out)["ai_usage"], usage)
        out = subprocess.run([meta.WAFLOW, "query", "stats"], env=env, check=True,
                             capture_output=True, text=True, timeout=meta.WAIT_S).stdout
        table = out[out.index("AI usage\n"):].splitlines()
        self.assertEqual(table[1].split(), ["DAY", "PROVIDER", "MODEL", "CALLS", "ERRORS", "TOKENS",
                                            "IN", "TOKENS", "OUT", "P50", "MS", "MEAN", "MS"])
        self.assertEqual(table[2].split()[1:7], ["openai", "mock/primary", "1", "0", "12", "3"])
        self.assertEqual(table[3].split()[1:7], ["openai", "mock/solo", "1", "1", "0", "0"])

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


def metric_samples(server):
    status, body = server.request("GET", "/metrics")
    assert status == 200, body
    samples = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


class ServeAiBurst(ServeWithModels):
    """An AI step with `buffer 2s`, on the server's test clock (moved by the test)."""

    prefix = "waflow-serve-ai-burst-"

    def make_server(self, workdir, graph_port, models_port):
        return AiServer(workdir, graph_port, models_port, flows_text=BURST_FLOWS)

    def query(self, sql):
        db = sqlite3.connect(self.server.db)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()

    def wait_until_buffering(self):
        """Until every message was taken from the inbox and a buffer waits for the clock."""
        deadline = time.monotonic() + meta.WAIT_S
        while time.monotonic() < deadline:
            if (self.query("SELECT COUNT(*) FROM inbox") == 0 and
                    self.query("SELECT COUNT(*) FROM timers") == 1):
                return
            time.sleep(0.02)
        raise AssertionError("no buffer is waiting:\n" + self.server.read_log())

    def last_user_turn(self, body):
        return [m for m in body["messages"] if m["role"] == "user"][-1]["content"]

    def test_a_burst_is_one_request_and_a_message_in_flight_is_the_next_turn(self):
        wa = "15550002001"
        self.models.hold("primary")
        for text in ("one", "two", "three"):
            self.say(wa, text)
        self.wait_until_buffering()
        self.assertEqual(self.models.got("primary"), [])  # The buffer is still open.
        self.server.advance(2000)
        first = self.models.wait_for("primary", 1)[0]
        self.assertEqual(self.last_user_turn(first), "one\ntwo\nthree")
        # The model is still answering: this message waits for the turn after it.
        self.say(wa, "four")
        deadline = time.monotonic() + meta.WAIT_S
        while self.query("SELECT COUNT(*) FROM inbox") != 0:
            self.assertLess(time.monotonic(), deadline, "the message was not taken")
            time.sleep(0.02)
        self.assertEqual(len(self.models.got("primary")), 1)
        self.models.release("primary")
        self.assertEqual([meta.text_of(s) for s in self.graph.wait_for(wa, 1)],
                         ["primary says: one\ntwo\nthree"])
        # The held message starts the next turn, with a buffer of its own.
        self.wait_until_buffering()
        self.server.advance(2000)
        second = self.models.wait_for("primary", 2)[1]
        self.assertEqual(self.last_user_turn(second), "four")
        self.assertEqual([meta.text_of(s) for s in self.graph.wait_for(wa, 2)],
                         ["primary says: one\ntwo\nthree", "primary says: four"])
        self.server.settle()
        self.assertEqual(len(self.models.got("primary")), 2)
        self.assertEqual(len(self.graph.to(wa)), 2)
        self.assertEqual(self.query("SELECT COUNT(*) FROM messages WHERE outbound = 0"), 4)


if __name__ == "__main__":
    meta.run_tests()
