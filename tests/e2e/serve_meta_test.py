#!/usr/bin/env python3
"""End-to-end tests of `waflow serve` on the Meta Cloud API wire.

The real binary runs on 127.0.0.1 with a SQLite file in a temp dir, its Graph
API pointed at a mock (http.server on 127.0.0.1) that records every send and
answers {"messages":[{"id":"wamid..."}]}. Webhooks are signed with the app
secret (X-Hub-Signature-256) and shaped exactly as Meta sends them. Time moves
through the server's test clock (--test-clock, POST /api/v1/admin/clock).

Nothing sleeps to wait for something: every wait polls with a bound.

  serve_meta_test.py --waflow build/waflow [unittest args, e.g. ServeMeta.test_pizza]
"""

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

WAFLOW = None
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APP_SECRET = "e2e-app-secret"
VERIFY_TOKEN = "e2e-verify"
PNID = "106540352242922"
WAIT_S = 30  # Bound of every poll: generous, so a loaded machine does not fail a test.


class MockGraph:
    """The Graph API's send endpoint: records requests, answers with ids."""

    def __init__(self):
        self.sends = []
        self.cond = threading.Condition()
        self.counter = 0
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with mock.cond:
                    mock.counter += 1
                    wamid = "wamid.out.%d" % mock.counter
                    mock.sends.append({
                        "path": self.path,
                        "auth": self.headers.get("Authorization", ""),
                        "body": json.loads(body.decode("utf-8")),
                        "id": wamid,
                    })
                    mock.cond.notify_all()
                answer = json.dumps({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": "x", "wa_id": "x"}],
                    "messages": [{"id": wamid}],
                }).encode()
                # Headers and body in one write, as most servers do.
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))

            def do_GET(self):
                # A shop API for flows' http steps: /stock answers, /broken fails.
                with mock.cond:
                    mock.gets.append(self.path)
                status, answer = (200, b'{"units": 7}') if self.path.startswith("/stock") \
                    else (500, b'{"error": "down"}')
                reason = b"OK" if status == 200 else b"Internal Server Error"
                self.wfile.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s"
                                 % (status, reason, len(answer), answer))

            def log_message(self, *args):
                pass

        self.gets = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def to(self, wa_id):
        with self.cond:
            return [s for s in self.sends if s["body"].get("to") == wa_id]

    def wait_for(self, wa_id, count):
        """The sends to wa_id once there are at least `count`."""
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                got = [s for s in self.sends if s["body"].get("to") == wa_id]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d sends to %s, got %d: %s" %
                                         (count, wa_id, len(got), [text_of(s) for s in got]))
                self.cond.wait(left)


def text_of(send):
    b = send["body"]
    if b.get("type") == "text":
        return b["text"]["body"]
    if b.get("type") == "interactive":
        return b["interactive"]["body"]["text"]
    return json.dumps(b)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(body):
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def envelope(value):
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def message_webhook(wa_id, name, message):
    return envelope({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PNID},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [message],
    })


def text_message(wa_id, msg_id, text):
    return {"from": wa_id, "id": msg_id, "timestamp": str(int(time.time())), "type": "text",
            "text": {"body": text}}


def button_message(wa_id, msg_id, button_id, title):
    return {"from": wa_id, "id": msg_id, "timestamp": str(int(time.time())),
            "type": "interactive",
            "interactive": {"type": "button_reply",
                            "button_reply": {"id": button_id, "title": title}}}


class Server:
    """One `waflow serve` process on a config written to a temp dir."""

    def __init__(self, workdir, graph_port, port=None, flows=None):
        self.workdir = workdir
        self.port = port or free_port()
        self.db = os.path.join(workdir, "waflow.db")
        self.config = os.path.join(workdir, "waflow.yaml")
        flows = flows or os.path.join(ROOT, "examples", "flows", "pizza.wf")
        with open(self.config, "w") as f:
            f.write(f"""listen: {{host: 127.0.0.1, port: {self.port}, threads: 2}}
storage: {{sqlite: waflow.db}}
flows: [{flows}]
devices:
  - name: pizza
    gateway: meta
    phone_number_id: {PNID}
    access_token: ${{E2E_TOKEN}}
    verify_token: {VERIFY_TOKEN}
    app_secret: ${{E2E_SECRET}}
    graph_base: http://127.0.0.1:{graph_port}
    graph_version: v21.0
""")
        self.log_path = os.path.join(workdir, "serve.log")
        self.proc = None

    def start(self):
        env = dict(os.environ, E2E_TOKEN="e2e-token", E2E_SECRET=APP_SECRET)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([WAFLOW, "serve", "--config", self.config, "--test-clock"] + (["--debug"] if os.environ.get("E2E_DEBUG") else []),
                                     cwd=self.workdir, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("waflow serve exited with %s:\n%s" %
                                     (self.proc.returncode, self.read_log()))
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("waflow serve did not get ready:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT_S)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def webhook(self, payload, signed=True, raw=None, content_type="application/json"):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": content_type}
        if signed:
            headers["X-Hub-Signature-256"] = sign(body)
        return self.request("POST", "/webhooks/meta", body, headers)

    def settle(self):
        """Waits until every outbox row is finished: nothing is in flight."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            db = sqlite3.connect(self.db)
            try:
                (busy,) = db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'inflight')").fetchone()
            finally:
                db.close()
            if busy == 0:
                return
            time.sleep(0.02)
        raise AssertionError("the outbox did not settle")

    def advance(self, ms):
        status, body = self.request("POST", "/api/v1/admin/clock",
                                    json.dumps({"advance_ms": ms}).encode(),
                                    {"Content-Type": "application/json"})
        assert status == 200, body
        return json.loads(body)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("waflow serve did not stop on SIGTERM")
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None


class ServeMeta(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-serve-")
        self.graph = MockGraph()
        self.server = Server(self.tmp.name, self.graph.port)
        self.server.start()
        self.seq = 0

    def tearDown(self):
        try:
            code = self.server.stop()
            if code not in (None, 0, -9):
                print(self.server.read_log(), file=sys.stderr)
            self.assertIn(code, (None, 0, -9), "waflow serve did not stop cleanly")
        finally:
            self.graph.close()
            self.tmp.cleanup()

    def next_id(self):
        self.seq += 1
        return "wamid.in.%s.%d" % (self._testMethodName, self.seq)

    def say(self, wa_id, text, name="User 1", msg_id=None):
        payload = message_webhook(wa_id, name, text_message(wa_id, msg_id or self.next_id(), text))
        status, body = self.server.webhook(payload)
        self.assertEqual(status, 200, body)
        return payload

    def tap(self, wa_id, button_id, title, name="User 1"):
        payload = message_webhook(wa_id, name,
                                  button_message(wa_id, self.next_id(), button_id, title))
        status, body = self.server.webhook(payload)
        self.assertEqual(status, 200, body)

    def order_until_address(self, wa_id, name):
        """hi -> welcome + buttons -> tap Margherita -> address question."""
        self.say(wa_id, "hi", name)
        sends = self.graph.wait_for(wa_id, 2)
        self.assertEqual(text_of(sends[0]), "Welcome to Pizza Bot, %s!" % name)
        buttons = sends[1]["body"]
        self.assertEqual(buttons["type"], "interactive")
        self.assertEqual(buttons["interactive"]["body"]["text"], "What would you like?")
        titles = [b["reply"]["title"] for b in buttons["interactive"]["action"]["buttons"]]
        self.assertEqual(titles, ["Margherita", "Pepperoni"])
        margherita = buttons["interactive"]["action"]["buttons"][0]["reply"]["id"]
        self.tap(wa_id, margherita, "Margherita", name)
        sends = self.graph.wait_for(wa_id, 3)
        self.assertEqual(text_of(sends[2]), "Great choice: Margherita. What is your address?")
        return sends

    def test_pizza_conversation(self):
        wa = "15550000001"
        self.order_until_address(wa, "User 1")
        self.say(wa, "1 Baker Street, flat 1")
        sends = self.graph.wait_for(wa, 4)
        self.assertEqual(text_of(sends[3]),
                         "Order for Margherita to 1 Baker Street, flat 1. Confirm? (yes/no)")
        self.say(wa, "yes")
        sends = self.graph.wait_for(wa, 5)
        self.assertRegex(text_of(sends[4]), r"^Order placed! Reference: [A-Za-z0-9_-]{1,64}$")
        for s in sends:
            self.assertEqual(s["path"], "/v21.0/%s/messages" % PNID)
            self.assertEqual(s["auth"], "Bearer e2e-token")
            self.assertEqual(s["body"]["messaging_product"], "whatsapp")
        # The token and the app secret never reach the log.
        log = self.server.read_log()
        self.assertNotIn("e2e-token", log)
        self.assertNotIn(APP_SECRET, log)
        for line in log.splitlines():
            json.loads(line)  # One JSON object per line.

    def test_two_contacts_keep_their_own_order(self):
        self.order_until_address("15550000002", "User 2")
        self.order_until_address("15550000003", "User 3")
        self.say("15550000002", "2 Baker Street", "User 2")
        self.say("15550000003", "3 Baker Street", "User 3")
        self.assertEqual(text_of(self.graph.wait_for("15550000002", 4)[3]),
                         "Order for Margherita to 2 Baker Street. Confirm? (yes/no)")
        self.assertEqual(text_of(self.graph.wait_for("15550000003", 4)[3]),
                         "Order for Margherita to 3 Baker Street. Confirm? (yes/no)")

    def test_verify_handshake(self):
        status, body = self.server.request(
            "GET", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=%s&hub.challenge=1158201444"
            % VERIFY_TOKEN)
        self.assertEqual((status, body), (200, b"1158201444"))
        status, _ = self.server.request(
            "GET", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
        self.assertEqual(status, 403)

    def test_signature_rejected(self):
        wa = "15550000004"
        payload = message_webhook(wa, "User 4", text_message(wa, self.next_id(), "hi"))
        body = json.dumps(payload).encode()
        bad = {"Content-Type": "application/json",
               "X-Hub-Signature-256": "sha256=" + "0" * 64}
        status, _ = self.server.request("POST", "/webhooks/meta", body, bad)
        self.assertEqual(status, 403)
        status, _ = self.server.webhook(payload, signed=False)
        self.assertEqual(status, 401)
        # A body changed after signing is refused too.
        tampered = body.replace(b'"hi"', b'"yo"')
        status, _ = self.server.request("POST", "/webhooks/meta", tampered,
                                        {"Content-Type": "application/json",
                                         "X-Hub-Signature-256": sign(body)})
        self.assertEqual(status, 403)
        # None of them made a turn: the first signed "hi" gets exactly the greeting.
        self.say(wa, "hi", "User 4")
        sends = self.graph.wait_for(wa, 2)
        self.assertEqual(text_of(sends[0]), "Welcome to Pizza Bot, User 4!")
        self.assertIn("webhook_refused", self.server.read_log())

    def test_duplicate_webhook_makes_one_turn(self):
        wa = "15550000005"
        payload = self.say(wa, "hi", "User 5")
        status, _ = self.server.webhook(payload)  # Meta redelivers the same message.
        self.assertEqual(status, 200)
        sends = self.graph.wait_for(wa, 2)
        button = sends[1]["body"]["interactive"]["action"]["buttons"][1]["reply"]["id"]
        self.tap(wa, button, "Pepperoni", "User 5")
        sends = self.graph.wait_for(wa, 3)
        # Had the copy made a turn, "hi" would have been a wrong answer to the
        # buttons and they would have come again before this reply.
        self.assertEqual([text_of(s) for s in sends],
                         ["Welcome to Pizza Bot, User 5!", "What would you like?",
                          "Great choice: Pepperoni. What is your address?"])
        db = sqlite3.connect(self.server.db)
        try:
            (count,) = db.execute("SELECT COUNT(*) FROM messages WHERE outbound = 0").fetchone()
        finally:
            db.close()
        self.assertEqual(count, 2)

    def test_metrics_count_webhooks_turns_and_sends(self):
        wa = "15550000015"
        payload = self.say(wa, "hi", "User 15")
        self.assertEqual(self.server.webhook(payload)[0], 200)  # A redelivery.
        self.assertEqual(self.server.webhook(payload, signed=False)[0], 401)
        self.graph.wait_for(wa, 2)
        self.server.settle()
        sent = 'waflow_outbox_deliveries_total{kind="send",result="sent"}'
        # A delivery is counted just after its row is marked sent: read until both are in.
        deadline = time.monotonic() + WAIT_S
        while True:
            status, body = self.server.request("GET", "/metrics")
            self.assertEqual(status, 200)
            text = body.decode()
            samples = {}
            for line in text.splitlines():
                if line and not line.startswith("#"):
                    name, value = line.rsplit(" ", 1)
                    samples[name] = float(value)
            if samples.get(sent) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(samples['waflow_inbound_webhooks_total{gateway="meta",result="accepted"}'], 1)
        self.assertEqual(samples['waflow_inbound_webhooks_total{gateway="meta",result="duplicate"}'], 1)
        self.assertEqual(samples['waflow_inbound_webhooks_total{gateway="meta",result="refused"}'], 1)
        self.assertEqual(samples["waflow_inbound_duplicates_total"], 1)
        self.assertEqual(samples['waflow_inbound_ack_duration_seconds_count{gateway="meta"}'], 2)
        self.assertGreaterEqual(samples['waflow_conversation_turns_total{result="committed"}'], 1)
        self.assertEqual(samples[sent], 2)
        self.assertEqual(samples['waflow_queue_depth{queue="outbox"}'], 0)
        self.assertEqual(samples["waflow_ready"], 1)
        self.assertIn("# TYPE waflow_conversation_turn_duration_seconds histogram", text)
        self.assertTrue(any(k.startswith("waflow_build_info{version=") for k in samples))
        self.assertNotIn(wa, text)  # No series names a contact.

    def test_status_recorded_not_routed(self):
        wa = "15550000006"
        self.say(wa, "hi", "User 6")
        sends = self.graph.wait_for(wa, 2)
        status_payload = envelope({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PNID},
            "statuses": [{"id": sends[0]["id"], "status": "read",
                          "timestamp": str(int(time.time())), "recipient_id": wa}],
        })
        status, _ = self.server.webhook(status_payload)
        self.assertEqual(status, 200)
        deadline = time.monotonic() + WAIT_S
        recorded = None
        while time.monotonic() < deadline:
            db = sqlite3.connect(self.server.db)
            try:
                row = db.execute("SELECT delivery_status FROM outbox WHERE provider_message_id = ?",
                                 (sends[0]["id"],)).fetchone()
            finally:
                db.close()
            recorded = row[0] if row else None
            if recorded == "read":
                break
            time.sleep(0.05)
        self.assertEqual(recorded, "read")
        # Not routed: the next tap is still the answer to the buttons.
        button = sends[1]["body"]["interactive"]["action"]["buttons"][0]["reply"]["id"]
        self.tap(wa, button, "Margherita", "User 6")
        self.assertEqual(text_of(self.graph.wait_for(wa, 3)[2]),
                         "Great choice: Margherita. What is your address?")
        self.assertEqual(len(self.graph.to(wa)), 3)

    def test_bad_input_gets_4xx_and_the_server_keeps_serving(self):
        status, _ = self.server.webhook(None, raw=b'{"object": "whatsapp_business_account", ')
        self.assertEqual(status, 400)
        status, _ = self.server.webhook(None, raw=b"hello", content_type="text/plain")
        self.assertEqual(status, 415)
        huge = json.dumps(envelope({"pad": "x" * (3 << 20)})).encode()
        status, _ = self.server.webhook(None, raw=huge)
        self.assertEqual(status, 413)
        status, _ = self.server.request("POST", "/webhooks/nowhere", b"{}",
                                        {"Content-Type": "application/json"})
        self.assertEqual(status, 404)
        status, _ = self.server.request("GET", "/livez")
        self.assertEqual(status, 200)
        wa = "15550000007"
        self.say(wa, "hi", "User 7")
        self.assertEqual(text_of(self.graph.wait_for(wa, 1)[0]), "Welcome to Pizza Bot, User 7!")

    def test_kill9_then_restart_continues_the_conversation(self):
        wa = "15550000008"
        self.order_until_address(wa, "User 8")
        # A send in flight at the crash is sent again after its lease runs out
        # (the documented at-least-once window); here every send was recorded.
        self.server.settle()
        self.server.kill()
        self.server.start()
        self.say(wa, "8 Baker Street", "User 8")
        sends = self.graph.wait_for(wa, 4)
        self.assertEqual(text_of(sends[3]),
                         "Order for Margherita to 8 Baker Street. Confirm? (yes/no)")
        self.say(wa, "yes", "User 8")
        sends = self.graph.wait_for(wa, 5)
        self.assertRegex(text_of(sends[4]), r"^Order placed! Reference: ")
        self.assertEqual(len(sends), 5)  # Nothing was sent twice.

    def test_kill9_under_load_loses_no_acknowledged_message(self):
        contacts = ["1555100%04d" % i for i in range(40)]
        acked = []
        lock = threading.Lock()

        def greet(wa):
            payload = message_webhook(wa, "Load", text_message(wa, "wamid.load." + wa, "hi"))
            status, _ = self.server.webhook(payload)
            if status == 200:
                with lock:
                    acked.append(wa)

        threads = [threading.Thread(target=greet, args=(wa,)) for wa in contacts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(acked), contacts)
        # Killed while turns and sends are under way.
        self.server.kill()
        self.server.start()
        # Leases of the dead process run out on the clock: move it past them.
        self.server.advance(120 * 1000)
        for wa in contacts:
            # At least once: a send in flight at the crash may come twice, but
            # the buttons always follow the welcome.
            n = 2
            while True:
                texts = [text_of(s) for s in self.graph.wait_for(wa, n)]
                if "What would you like?" in texts:
                    break
                n += 1
            self.assertEqual(texts[0], "Welcome to Pizza Bot, Load!")
            self.assertEqual(set(texts), {"Welcome to Pizza Bot, Load!", "What would you like?"})
        self.server.settle()
        db = sqlite3.connect(self.server.db)
        try:
            rows = db.execute("SELECT contact_id, COUNT(*), SUM(status = 'sent') FROM outbox"
                              " GROUP BY contact_id").fetchall()
            (turns,) = db.execute("SELECT COUNT(*) FROM conversations").fetchone()
        finally:
            db.close()
        # Every turn ran once: two replies per contact, both delivered; one run each.
        self.assertEqual(len(rows), len(contacts))
        self.assertTrue(all(n == 2 and sent == 2 for _, n, sent in rows), rows)
        self.assertEqual(turns, len(contacts))

    def test_a_new_version_leaves_conversations_in_progress_on_theirs(self):
        source = open(os.path.join(ROOT, "examples", "flows", "pizza.wf")).read()
        flow = os.path.join(self.tmp.name, "pizza.wf")
        with open(flow, "w") as f:
            f.write(source)
        self.server.stop()
        self.server = Server(self.tmp.name, self.graph.port, flows=flow)
        self.server.start()
        old, new = "15550000012", "15550000013"
        self.order_until_address(old, "User 12")
        self.server.settle()
        self.server.stop()
        # The next start compiles a changed flow and activates it.
        with open(flow, "w") as f:
            f.write(source.replace("Order for {{choice}}", "Your order: {{choice}}"))
        self.server = Server(self.tmp.name, self.graph.port, flows=flow)
        self.server.start()
        self.say(old, "12 Baker Street", "User 12")
        self.assertEqual(text_of(self.graph.wait_for(old, 4)[3]),
                         "Order for Margherita to 12 Baker Street. Confirm? (yes/no)")
        self.order_until_address(new, "User 13")
        self.say(new, "13 Baker Street", "User 13")
        self.assertEqual(text_of(self.graph.wait_for(new, 4)[3]),
                         "Your order: Margherita to 13 Baker Street. Confirm? (yes/no)")
        db = sqlite3.connect(self.server.db)
        try:
            pinned = db.execute("SELECT contact, bundle_hash FROM conversations"
                                " ORDER BY contact").fetchall()
            (active,) = db.execute("SELECT hash FROM bundles WHERE hash = ?",
                                   (pinned[1][1],)).fetchone()
        finally:
            db.close()
        self.assertEqual([p[0] for p in pinned], ["+" + old, "+" + new])
        self.assertNotEqual(pinned[0][1], pinned[1][1])
        self.assertEqual(active, pinned[1][1])

    def test_http_steps_call_out_and_resume_the_run(self):
        flow = os.path.join(self.tmp.name, "shop.wf")
        base = "http://127.0.0.1:%d" % self.graph.port
        with open(flow, "w") as f:
            f.write(f"""flow stock "Stock"
  trigger exact "stock"
  http stock = GET "{base}/stock?sku=42"
    timeout 5s
    map units = "$.units"
    on error
      say "The stock service is down."
      end
  say "Units left: {{{{stock.units}}}}"

flow broken "Broken"
  trigger exact "broken"
  http check = GET "{base}/broken"
    retries 1
    map x = "$.x"
    on error
      say "The stock service is down."
      end
  say "unreachable"
""")
        self.server.stop()
        self.server = Server(self.tmp.name, self.graph.port, flows=flow)
        self.server.start()
        wa = "15550000014"
        self.say(wa, "stock", "User 14")
        self.assertEqual(text_of(self.graph.wait_for(wa, 1)[0]), "Units left: 7")
        self.say(wa, "broken", "User 14")
        self.assertEqual(text_of(self.graph.wait_for(wa, 2)[1]), "The stock service is down.")
        with self.graph.cond:
            self.assertEqual(self.graph.gets, ["/stock?sku=42", "/broken", "/broken"])

    def test_wait_timeout_fires_on_the_test_clock(self):
        wa = "15550000009"
        self.say(wa, "hi", "User 9")
        self.graph.wait_for(wa, 2)
        # Leases run on the same clock: jump only once the sends are recorded.
        self.server.settle()
        # One day without an answer ends the run (on timeout 1d: end) ...
        self.server.advance(24 * 3600 * 1000 + 1000)
        self.wait_for_run_end(wa)
        # ... so "hi" starts a new order instead of being a wrong answer.
        self.say(wa, "hi", "User 9")
        sends = self.graph.wait_for(wa, 4)
        self.assertEqual(text_of(sends[2]), "Welcome to Pizza Bot, User 9!")

    def test_wait_timeout_fires_after_a_restart(self):
        wa = "15550000010"
        self.say(wa, "hi", "User 10")
        self.graph.wait_for(wa, 2)
        self.server.settle()
        self.server.kill()
        self.server.start()
        self.server.advance(24 * 3600 * 1000 + 1000)
        self.wait_for_run_end(wa)
        self.say(wa, "hi", "User 10")
        self.assertEqual(text_of(self.graph.wait_for(wa, 4)[2]), "Welcome to Pizza Bot, User 10!")

    def wait_for_run_end(self, wa):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            db = sqlite3.connect(self.server.db)
            try:
                rows = db.execute("SELECT status FROM conversations WHERE contact = ?",
                                  ("+" + wa,)).fetchall()
            finally:
                db.close()
            if rows and all(r[0] != "active" for r in rows):
                return
            time.sleep(0.05)
        raise AssertionError("the conversation of %s did not end: %s" % (wa, rows))

    def test_sigterm_stops_cleanly(self):
        wa = "15550000011"
        self.say(wa, "hi", "User 11")
        self.graph.wait_for(wa, 2)
        self.assertEqual(self.server.stop(), 0)
        log = self.server.read_log()
        self.assertIn('"event":"draining"', log)
        self.assertIn('"event":"stopped"', log)
        self.server.proc = None


def run_tests():
    """Runs the tests of the script that was started (this one, or one that imports it for
    the server and the Graph mock) against the binary named by --waflow."""
    global WAFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    args, rest = parser.parse_known_args()
    WAFLOW = os.path.abspath(args.waflow)
    unittest.main(module="__main__", argv=[sys.argv[0]] + rest, verbosity=2)


def main():
    run_tests()


if __name__ == "__main__":
    main()
