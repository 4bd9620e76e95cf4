#!/usr/bin/env python3
"""End-to-end tests of `waflow serve` on the WAHA wire.

The real binary runs with examples/serve/pizza-waha.yaml itself (addresses and
keys from the environment, as documented), a SQLite file in a temp dir, and a
mock WAHA server on 127.0.0.1 that records POST /api/sendText. Webhooks are
WAHA `message` events signed with X-Webhook-Hmac (HMAC-SHA512). Buttons go out
as numbered text, and a typed number picks an option.

  serve_waha_test.py --waflow build/waflow [unittest args]
"""

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_meta_test as common  # noqa: E402

WAFLOW = None
HMAC_KEY = "e2e-waha-hmac"
API_KEY = "e2e-waha-key"
SESSION = "default"
BOT = "6289990001111@c.us"


class MockWaha:
    """WAHA's send endpoint: records requests, answers with WAHA's ids."""

    def __init__(self):
        self.sends = []
        self.cond = threading.Condition()
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                payload = json.loads(body.decode("utf-8"))
                with mock.cond:
                    n = len(mock.sends) + 1
                    mock.sends.append({"path": self.path, "key": self.headers.get("X-Api-Key"),
                                       "body": payload})
                    mock.cond.notify_all()
                answer = json.dumps({"id": "true_%s_OUT%d" % (payload.get("chatId"), n)}).encode()
                # Headers and body in one write, as most servers do.
                self.wfile.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, chat, count):
        deadline = time.monotonic() + common.WAIT_S
        with self.cond:
            while True:
                got = [s for s in self.sends if s["body"].get("chatId") == chat]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d sends to %s, got %s" % (count, chat, got))
                self.cond.wait(left)


def event(phone, name, msg_id, text):
    return {
        "id": "evt_" + msg_id, "timestamp": int(time.time() * 1000), "event": "message",
        "session": SESSION, "me": {"id": BOT, "pushName": "Pizza"},
        "payload": {
            "id": "false_%s@c.us_%s" % (phone, msg_id), "timestamp": int(time.time()),
            "from": "%s@c.us" % phone, "fromMe": False, "source": "app", "to": BOT,
            "body": text, "hasMedia": False, "media": None,
            "_data": {"pushName": name},
        },
        "engine": "NOWEB",
    }


class ServeWaha(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-waha-")
        self.waha = MockWaha()
        self.port = common.free_port()
        env = dict(os.environ, PORT=str(self.port), HOST="127.0.0.1",
                   WAHA_BASE="http://127.0.0.1:%d" % self.waha.port, WAHA_SESSION=SESSION,
                   WAHA_API_KEY=API_KEY, WAHA_HMAC_KEY=HMAC_KEY,
                   WAFLOW_DB=os.path.join(self.tmp.name, "waha.db"))
        self.log_path = os.path.join(self.tmp.name, "serve.log")
        self.log = open(self.log_path, "wb")
        config = os.path.join(common.ROOT, "examples", "serve", "pizza-waha.yaml")
        self.proc = subprocess.Popen([WAFLOW, "serve", "--config", config], cwd=self.tmp.name,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + common.WAIT_S
        while True:
            self.assertIsNone(self.proc.poll(), self.read_log())
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            self.assertLess(time.monotonic(), deadline, "not ready:\n" + self.read_log())
            time.sleep(0.05)
        self.seq = 0

    def tearDown(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=common.WAIT_S)
        self.log.close()
        self.waha.close()
        self.tmp.cleanup()
        self.assertEqual(code, 0)

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=common.WAIT_S)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def post(self, payload, key=HMAC_KEY):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-Webhook-Hmac-Algorithm": "sha512"}
        if key is not None:
            headers["X-Webhook-Hmac"] = hmac.new(key.encode(), body, hashlib.sha512).hexdigest()
        return self.request("POST", "/webhooks/waha", body, headers)

    def say(self, phone, text, name="Budi"):
        self.seq += 1
        status, body = self.post(event(phone, name, "IN%d" % self.seq, text))
        self.assertEqual(status, 200, body)

    def test_pizza_conversation_with_numbered_buttons(self):
        phone, chat = "6281234567890", "6281234567890@c.us"
        self.say(phone, "hi")
        sends = self.waha.wait_for(chat, 2)
        self.assertEqual(sends[0]["body"]["text"], "Welcome to Pizza Bot, Budi!")
        self.assertEqual(sends[1]["body"]["text"],
                         "What would you like?\n\n1. Margherita\n2. Pepperoni")
        for s in sends:
            self.assertEqual(s["path"], "/api/sendText")
            self.assertEqual(s["key"], API_KEY)
            self.assertEqual(s["body"]["session"], SESSION)
        self.say(phone, "2")
        self.assertEqual(self.waha.wait_for(chat, 3)[2]["body"]["text"],
                         "Great choice: Pepperoni. What is your address?")
        self.say(phone, "Jl. Sudirman 1")
        self.assertEqual(self.waha.wait_for(chat, 4)[3]["body"]["text"],
                         "Order for Pepperoni to Jl. Sudirman 1. Confirm? (yes/no)")
        self.say(phone, "yes")
        self.assertRegex(self.waha.wait_for(chat, 5)[4]["body"]["text"],
                         r"^Order placed! Reference: orders-\d+$")
        log = self.read_log()
        self.assertNotIn(API_KEY, log)
        self.assertNotIn(HMAC_KEY, log)

    def test_wrong_hmac_is_refused_and_echoes_are_dropped(self):
        phone, chat = "6281234567891", "6281234567891@c.us"
        status, _ = self.post(event(phone, "Sari", "X1", "hi"), key="wrong")
        self.assertEqual(status, 403)
        status, _ = self.post(event(phone, "Sari", "X2", "hi"), key=None)
        self.assertEqual(status, 401)
        echo = event(phone, "Sari", "X3", "hi")
        echo["payload"]["fromMe"] = True
        status, _ = self.post(echo)
        self.assertEqual(status, 200)
        self.say(phone, "hi", "Sari")
        self.waha.wait_for(chat, 2)
        self.settle()
        # Had the echo made a turn, this "hi" would have been a wrong answer to
        # the options, and they would have gone out a second time.
        with self.waha.cond:
            texts = [s["body"]["text"].split("\n")[0] for s in self.waha.sends]
        self.assertEqual(texts, ["Welcome to Pizza Bot, Sari!", "What would you like?"])

    def settle(self):
        """Waits until the inbox is empty and no send is pending or in flight."""
        deadline = time.monotonic() + common.WAIT_S
        while time.monotonic() < deadline:
            db = sqlite3.connect(os.path.join(self.tmp.name, "waha.db"))
            try:
                (inbox,) = db.execute("SELECT COUNT(*) FROM inbox").fetchone()
                (busy,) = db.execute("SELECT COUNT(*) FROM outbox"
                                     " WHERE status IN ('pending', 'inflight')").fetchone()
            finally:
                db.close()
            if inbox == 0 and busy == 0:
                return
            time.sleep(0.02)
        raise AssertionError("the server did not settle")


def main():
    global WAFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    args, rest = parser.parse_known_args()
    WAFLOW = os.path.abspath(args.waflow)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
