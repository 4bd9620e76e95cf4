#!/usr/bin/env python3
"""End-to-end tests of the HTTP API of `waflow serve` (/api/v1, docs/api.md).

The real binary runs on 127.0.0.1 with a SQLite file in a temp dir and one Meta
device whose Graph API is the mock of serve_meta_test.py (it records every
send). The API is called with urllib; the event stream is read with a minimal
RFC 6455 client below (it sends headers and reports a refused handshake, which
the suite's other client does not). Every wait polls with a bound.

  serve_api_test.py --waflow build/cli/waflow [unittest args, e.g. ServeApi.test_auth]
"""

import base64
import hashlib
import json
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import serve_meta_test as meta  # noqa: E402  (the mock Graph API, webhooks, the server process)

ROOT = meta.ROOT
WAIT_S = meta.WAIT_S
ADMIN = "e2e-admin-token"
READER = "e2e-read-token"
SENDER = "e2e-send-token"
PIZZA = os.path.join(ROOT, "examples", "flows", "pizza.wf")
PROMO_FLOW = '''flow promo "Promotion"
  var contact.plan: text
  say "Hello {{contact.plan}} member, {{contact.name}}"

flow signup "Sign up"
  trigger exact "signup"
  store saved = signups {name: contact.name, plan: "basic"}
  say "Saved as {{saved.id}}"
'''
TOKENS = f"""api:
  tokens:
    - {{token: {ADMIN}, scopes: [admin]}}
    - {{token: {READER}, scopes: [read]}}
    - {{token: {SENDER}, scopes: [send]}}
    - {{token: "", scopes: [admin]}}
"""


class ApiError(Exception):
    pass


class Server(meta.Server):
    """waflow serve with the pizza flow and a promo flow, and API tokens (or none)."""

    def __init__(self, workdir, graph_port, tokens=True):
        promo = os.path.join(workdir, "promo.wf")
        with open(promo, "w") as f:
            f.write(PROMO_FLOW)
        super().__init__(workdir, graph_port, flows=f"{PIZZA}, {promo}")
        if tokens:
            with open(self.config, "a") as f:
                f.write(TOKENS)

    def api(self, method, path, body=None, token=ADMIN, headers=None, raw=None,
            content_type="application/json"):
        """(status, decoded JSON or None, response headers) of one API call."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1{path}",
                                         data=data, method=method)
        if token is not None:
            request.add_header("Authorization", "Bearer " + token)
        if data is not None and content_type:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=WAIT_S) as response:
                status, text, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as e:
            status, text, got = e.code, e.read(), e.headers
        try:
            decoded = json.loads(text) if text else None
        except ValueError:
            raise ApiError("not JSON: %r" % text)
        return status, decoded, got

    def ok(self, method, path, body=None, expect=200, **kwargs):
        status, answer, _ = self.api(method, path, body, **kwargs)
        if status != expect:
            raise ApiError("%s %s: expected %d, got %d %s" % (method, path, expect, status, answer))
        return answer


class EventSocket:
    """A WebSocket client: the upgrade with extra headers, then text frames in."""

    def __init__(self, port, path, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        if self.status == 101:
            accept = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            assert accept in head, head

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ApiError("the server closed the event stream")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def receive(self):
        """The next text message as JSON (pings answered)."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x8:
                raise ApiError("the server closed the event stream: %r" % payload)
            if opcode == 0x9:
                self._send(0xA, payload)
                continue
            if opcode in (0x0, 0x1):
                message += payload
                if first & 0x80:
                    return json.loads(message)

    def until(self, predicate, what):
        seen = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            event = self.receive()
            seen.append(event)
            if predicate(event):
                return event, seen
        raise AssertionError("no %s among %s" % (what, seen))

    def say(self, text):
        self._send(0x1, text.encode())

    def close(self):
        self.sock.close()


def wait_until(check, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def build_bundle(source, out):
    result = subprocess.run([meta.WAFLOW, "build", source, "-o", out], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    with open(out, "rb") as f:
        return f.read()


class ServeApi(unittest.TestCase):
    tokens = True

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-api-")
        self.graph = meta.MockGraph()
        self.server = Server(self.tmp.name, self.graph.port, tokens=self.tokens)
        self.server.start()
        self.seq = 0

    def tearDown(self):
        try:
            code = self.server.stop()
            if code not in (None, 0) or os.environ.get("E2E_LOG"):
                print(self.server.read_log(), file=sys.stderr)
            self.assertIn(code, (None, 0), "waflow serve did not stop cleanly")
        finally:
            self.graph.close()
            self.tmp.cleanup()

    # --- helpers ---

    def say(self, wa_id, text, name="User 1"):
        self.seq += 1
        msg_id = "wamid.in.%s.%d" % (self._testMethodName, self.seq)
        payload = meta.message_webhook(wa_id, name, meta.text_message(wa_id, msg_id, text))
        status, body = self.server.webhook(payload)
        self.assertEqual(status, 200, body)

    def messages(self, query):
        return self.server.ok("GET", "/messages?" + urllib.parse.urlencode(query))

    def logged(self, contact, count, **query):
        """The contact's logged messages once there are `count` of them."""
        def check():
            items = self.messages(dict(query, contact=contact, limit=1000))["items"]
            return items if len(items) >= count else None
        return wait_until(check, "%d logged messages of %s" % (count, contact))

    def inbox_empty(self):
        db = sqlite3.connect(self.server.db)
        try:
            return db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0
        finally:
            db.close()

    def refused(self, status, code, method, path, body=None, **kwargs):
        got, answer, headers = self.server.api(method, path, body, **kwargs)
        self.assertEqual(got, status, answer)
        self.assertEqual(answer["error"]["code"], code, answer)
        self.assertTrue(answer["error"]["message"])
        return answer["error"]["message"], headers

    # --- authentication ---

    def test_auth(self):
        message, headers = self.refused(401, "unauthorized", "GET", "/deployments", token=None)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        self.refused(401, "unauthorized", "GET", "/deployments", token="e2e-wrong-token")
        self.refused(401, "unauthorized", "GET", "/deployments", token=ADMIN + "x")
        self.refused(401, "unauthorized", "GET", "/deployments", token="",
                     headers={"Authorization": "Basic " + ADMIN})
        message, _ = self.refused(403, "forbidden", "POST", "/messages",
                                  {"to": "+15550000001", "text": "hi"}, token=READER)
        self.assertEqual(message, "this token lacks the send scope")
        message, _ = self.refused(403, "forbidden", "GET", "/deployments", token=SENDER)
        self.assertEqual(message, "this token lacks the read scope")
        self.refused(403, "forbidden", "POST", "/deployments/rollback", token=SENDER)
        # The scopes a token has work; the health routes need none.
        self.assertEqual(self.server.ok("GET", "/deployments", token=READER)["next_cursor"], "")
        self.assertEqual(self.server.request("GET", "/livez")[0], 200)
        # The event stream: no token refused, ?token= accepted.
        ws = EventSocket(self.server.port, "/api/v1/events")
        self.assertEqual(ws.status, 401)
        ws.close()
        ws = EventSocket(self.server.port, "/api/v1/events?token=" + SENDER)
        self.assertEqual(ws.status, 403)
        ws.close()
        ws = EventSocket(self.server.port, "/api/v1/events?token=" + READER)
        self.assertEqual(ws.status, 101)
        ws.close()
        # An upload is refused from its header: 30 MB announced with 100-continue,
        # none of it sent, and the 403 comes (no 100 Continue first).
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(("POST /api/v1/deployments HTTP/1.1\r\nHost: t\r\n"
                       f"Authorization: Bearer {READER}\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "Content-Length: 30000000\r\nExpect: 100-continue\r\n\r\n").encode())
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
            self.assertTrue(answer.startswith(b"HTTP/1.1 403"), answer[:200])
        log = self.server.read_log()
        self.assertIn('"event":"api_refused"', log)
        for secret in (ADMIN, READER, SENDER, "e2e-wrong-token"):
            self.assertNotIn(secret, log)

    # --- deployments ---

    def test_deployments(self):
        start = self.server.ok("GET", "/deployments")["items"]
        self.assertEqual(len(start), 1)
        self.assertTrue(start[0]["active"])
        first = start[0]["hash"]
        self.assertRegex(start[0]["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

        # Stored, not activated; the same bytes again are the same deployment.
        everything = build_bundle(os.path.join(ROOT, "examples", "flows"),
                                  os.path.join(self.tmp.name, "all.wfb"))
        octet = "application/octet-stream"
        up = self.server.ok("POST", "/deployments?activate=false&comment=all%20flows",
                            raw=everything, content_type=octet, expect=201,
                            headers={"X-Waflow-Author": "e2e"})
        self.assertFalse(up["active"])
        self.assertEqual(up["size"], len(everything))
        self.assertIn("pizza", up["flows"])
        self.assertIn("booking", up["flows"])
        again = self.server.ok("POST", "/deployments", raw=everything, content_type=octet)
        self.assertEqual(again["hash"], up["hash"])
        listed = self.server.ok("GET", "/deployments")["items"]
        self.assertEqual(len(listed), 2)
        mine = [d for d in listed if d["hash"] == up["hash"]][0]
        self.assertEqual((mine["author"], mine["comment"], mine["active"]),
                         ("e2e", "all flows", False))
        self.assertIsNone(mine["last_activated_ms"])

        # Refusals: not a bundle, not octet-stream, a bad flag.
        message, _ = self.refused(422, "invalid_bundle", "POST", "/deployments",
                                  raw=b"not a bundle", content_type=octet)
        self.assertIn("the bundle does not load", message)
        self.refused(415, "unsupported_media_type", "POST", "/deployments", raw=everything,
                     content_type="application/json")
        self.refused(400, "bad_request", "POST", "/deployments?activate=yes", raw=everything,
                     content_type=octet)
        self.refused(404, "not_found", "POST", "/deployments/%s/activate" % ("0" * 64))

        # Activate, roll back, and nothing left to roll back to.
        self.assertEqual(self.server.ok("POST", "/deployments/%s/activate" % up["hash"]),
                         {"hash": up["hash"], "active": True})
        active = [d["hash"] for d in self.server.ok("GET", "/deployments")["items"] if d["active"]]
        self.assertEqual(active, [up["hash"]])
        self.assertEqual(self.server.ok("POST", "/deployments/rollback"), {"hash": first})
        message, _ = self.refused(409, "conflict", "POST", "/deployments/rollback")
        self.assertIn("nothing to roll back to", message)

        # Upload and activate at once.
        booking = build_bundle(os.path.join(ROOT, "examples", "flows", "booking.wf"),
                               os.path.join(self.tmp.name, "booking.wfb"))
        live = self.server.ok("POST", "/deployments?activate=true", raw=booking,
                              content_type=octet, expect=201)
        self.assertTrue(live["active"])
        self.assertIn("booking", live["flows"])
        listed = self.server.ok("GET", "/deployments")["items"]
        self.assertEqual([d["hash"] for d in listed if d["active"]], [live["hash"]])
        self.assertIsNotNone([d for d in listed if d["hash"] == live["hash"]][0]["last_activated_ms"])

    # --- sending ---

    def test_send_text_reaches_the_graph_api(self):
        wa = "15550000101"
        answer = self.server.ok("POST", "/messages", {"to": "+" + wa, "text": "Your order shipped"},
                                token=SENDER, expect=202)
        self.assertEqual((answer["device"], answer["to"], answer["queued"]),
                         ("pizza", "+" + wa, "message"))
        self.assertTrue(answer["id"])
        sends = self.graph.wait_for(wa, 1)
        self.assertEqual(sends[0]["body"]["type"], "text")
        self.assertEqual(meta.text_of(sends[0]), "Your order shipped")
        self.assertEqual(sends[0]["auth"], "Bearer e2e-token")
        # Other kinds and digits without '+' (the same contact).
        image = {"to": wa, "device": "pizza",
                 "image": {"url": "https://example.com/a.png", "caption": "Menu"}}
        self.assertEqual(self.server.ok("POST", "/messages", image, expect=202)["to"], "+" + wa)
        template = {"to": "+" + wa,
                    "template": {"name": "order_update", "language": "en", "params": ["1234"]}}
        self.server.ok("POST", "/messages", template, expect=202)
        sends = self.graph.wait_for(wa, 3)
        self.assertEqual(sends[1]["body"]["type"], "image")
        self.assertEqual(sends[1]["body"]["image"]["link"], "https://example.com/a.png")
        self.assertEqual(sends[2]["body"]["type"], "template")
        self.assertEqual(sends[2]["body"]["template"]["name"], "order_update")
        out = self.logged("+" + wa, 3, direction="out")
        self.assertEqual(sorted(m["kind"] for m in out), ["image", "template", "text"])

    def test_send_with_the_same_id_sends_once(self):
        wa = "15550000102"
        body = {"to": "+" + wa, "text": "Only once", "id": "e2e-order-7-shipped"}
        first = self.server.ok("POST", "/messages", body, expect=202)
        self.assertEqual(first["id"], "e2e-order-7-shipped")
        self.graph.wait_for(wa, 1)
        again = self.server.ok("POST", "/messages", body, expect=200)
        self.assertEqual(again, {"id": "e2e-order-7-shipped", "duplicate": True})
        # A new id sends again: once it has arrived, the duplicate would have too.
        self.server.ok("POST", "/messages", dict(body, id="e2e-order-7-later", text="Later"),
                       expect=202)
        sends = self.graph.wait_for(wa, 2)
        self.server.settle()
        self.assertEqual([meta.text_of(s) for s in self.graph.to(wa)], ["Only once", "Later"])
        self.assertEqual(len(sends), 2)

    def test_start_a_flow_with_variables(self):
        wa = "15550000103"
        self.say(wa, "hello there", "Vera")  # No trigger matches: the contact is known by name.
        self.logged("+" + wa, 1, direction="in")
        answer = self.server.ok("POST", "/messages",
                                {"to": "+" + wa, "flow": "promo", "variables": {"plan": "gold"}},
                                expect=202)
        self.assertEqual(answer["queued"], "flow")
        sends = self.graph.wait_for(wa, 1)
        self.assertEqual(meta.text_of(sends[0]), "Hello gold member, Vera")
        conversations = wait_until(
            lambda: self.server.ok("GET", "/conversations?flow=promo")["items"], "a conversation")
        self.assertEqual(conversations[0]["contact"], "+" + wa)
        message, _ = self.refused(404, "not_found", "POST", "/messages",
                                  {"to": "+" + wa, "flow": "no_such_flow"})
        self.assertIn("no_such_flow", message)
        self.assertIn("promo", message)

    # --- queries ---

    def test_conversations_and_messages_filters_and_paging(self):
        wa, other = "15550000104", "15550000105"
        self.say(wa, "hi", "Pia")
        self.graph.wait_for(wa, 2)
        self.say(other, "hi", "Otto")
        self.graph.wait_for(other, 2)
        for i in range(7):
            self.server.ok("POST", "/messages", {"to": "+" + wa, "text": "note %d" % i}, expect=202)
        everything = self.logged("+" + wa, 10)
        self.assertEqual(len(everything), 10)
        self.assertTrue(all(m["contact"] == "+" + wa for m in everything))

        # Pages of 4: no repeats, no gaps, newest first, "" after the last.
        seen, cursor, pages = [], "", 0
        while True:
            query = {"contact": "+" + wa, "limit": 4}
            if cursor:
                query["cursor"] = cursor
            page = self.messages(query)
            pages += 1
            seen += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(pages, 3)
        self.assertEqual([m["id"] for m in seen], [m["id"] for m in everything])
        self.assertEqual(len({m["id"] for m in seen}), 10)
        keys = [(m["at_ms"], m["id"]) for m in seen]
        self.assertEqual(keys, sorted(keys, reverse=True))

        inbound = self.messages({"contact": "+" + wa, "direction": "in"})["items"]
        self.assertEqual([(m["kind"], m["text"]) for m in inbound], [("text", "hi")])
        self.assertEqual(inbound[0]["payload"]["text"], "hi")
        self.assertEqual(inbound[0]["flow"], "")
        self.assertEqual(len(self.messages({"direction": "out", "contact": "+" + wa})["items"]), 9)
        self.assertEqual(len(self.messages({"direction": "in"})["items"]), 2)
        latest = everything[0]["at_ms"]
        self.assertEqual(self.messages({"contact": "+" + wa, "since": latest + 1})["items"], [])
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(latest / 1000.0 - 3600))
        self.assertEqual(len(self.messages({"contact": "+" + wa, "since": since})["items"]), 10)
        until = everything[-1]["at_ms"]
        self.assertEqual(self.messages({"contact": "+" + wa, "until": until})["items"], [])

        conversations = self.server.ok("GET", "/conversations?flow=pizza&limit=1")
        self.assertEqual(len(conversations["items"]), 1)
        self.assertNotEqual(conversations["next_cursor"], "")
        rest = self.server.ok("GET", "/conversations?flow=pizza&limit=1&cursor=" +
                              conversations["next_cursor"])
        self.assertEqual(rest["next_cursor"], "")
        both = conversations["items"] + rest["items"]
        self.assertEqual(sorted(c["contact"] for c in both), ["+" + wa, "+" + other])
        for c in both:
            self.assertEqual((c["flow"], c["status"], c["device"]), ("pizza", "active", "pizza"))
            self.assertNotIn("ended_ms", c)
        mine = self.server.ok("GET", "/conversations?contact=%2B" + wa)["items"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["last_step"], "ask_choice")

        contact = self.server.ok("GET", "/contacts/+" + wa)
        self.assertEqual(contact["name"], "Pia")
        self.assertFalse(contact["paused"])
        self.refused(404, "not_found", "GET", "/contacts/+15559999999")

    def test_stats(self):
        wa = "15550000106"
        self.say(wa, "hi", "Sam")
        self.graph.wait_for(wa, 2)
        self.logged("+" + wa, 3)
        stats = self.server.ok("GET", "/stats")
        self.assertEqual(len(stats["messages_per_day"]), 1)
        self.assertEqual((stats["messages_per_day"][0]["in"], stats["messages_per_day"][0]["out"]),
                         (1, 2))
        self.assertEqual(stats["flows"],
                         [{"flow": "pizza", "started": 1, "completed": 0, "active": 1}])
        self.assertIn({"flow": "pizza", "step": "ask_choice", "dropped": 0, "active": 1}, stats["steps"])
        self.assertEqual(self.server.ok("GET", "/stats?flow=promo")["flows"], [])
        future = self.server.ok("GET", "/stats?since=2999-01-01T00:00:00%2B02:00")
        self.assertEqual(future["messages_per_day"], [])

    # --- pause and resume ---

    def test_records_of_store_steps(self):
        wa = "15550000109"
        self.say(wa, "signup", "Rita")
        self.assertEqual(meta.text_of(self.graph.wait_for(wa, 1)[0]), "Saved as signups-1")
        self.say(wa, "signup", "Rita")
        self.assertEqual(meta.text_of(self.graph.wait_for(wa, 2)[1]), "Saved as signups-2")
        page = self.server.ok("GET", "/records?collection=signups&limit=1")
        self.assertEqual(len(page["items"]), 1)
        newest = page["items"][0]
        self.assertEqual(newest["id"], "signups-2")
        self.assertEqual((newest["collection"], newest["flow"], newest["contact"]),
                         ("signups", "signup", "+" + wa))
        self.assertEqual(newest["data"], {"name": "Rita", "plan": "basic"})
        self.assertTrue(newest["created_at"].endswith("Z"))
        rest = self.server.ok("GET", "/records?collection=signups&cursor=" + page["next_cursor"])
        self.assertEqual([r["id"] for r in rest["items"]], ["signups-1"])
        self.assertEqual(rest["next_cursor"], "")
        self.assertEqual(self.server.ok("GET", "/records?collection=orders")["items"], [])
        self.refused(400, "bad_request", "GET", "/records?colection=signups")
        self.refused(403, "forbidden", "GET", "/records", token=SENDER)
        # The records outlive the outbox rows that answered the steps.
        db = sqlite3.connect(self.server.db)
        try:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM records").fetchone()[0], 2)
        finally:
            db.close()

    def test_pause_and_resume(self):
        wa = "15550000107"
        self.say(wa, "hi", "Pat")
        self.graph.wait_for(wa, 2)
        self.assertEqual(self.server.ok("POST", "/contacts/+%s/pause" % wa, token=SENDER),
                         {"device": "pizza", "contact": "+" + wa, "paused": True})
        self.assertTrue(self.server.ok("GET", "/contacts/%2B" + wa)["paused"])
        self.say(wa, "is anyone there?")
        wait_until(lambda: self.inbox_empty(), "the message to be handled")
        self.server.settle()
        self.assertEqual(len(self.graph.to(wa)), 2)  # The bot stayed silent.
        # The person who took over reads it in the log.
        inbound = self.server.ok("GET", "/messages?direction=in&contact=%2B" + wa)["items"]
        self.assertEqual(inbound[0]["text"], "is anyone there?")
        # A person writes through the API meanwhile.
        self.server.ok("POST", "/messages", {"to": "+" + wa, "text": "Ana here, how can I help?"},
                       expect=202)
        self.graph.wait_for(wa, 3)
        answer = self.server.ok("POST", "/contacts/+%s/resume" % wa, {"device": "pizza"},
                                token=SENDER)
        self.assertEqual(answer["paused"], False)
        self.assertFalse(self.server.ok("GET", "/contacts/+" + wa)["paused"])
        self.say(wa, "something else")
        sends = self.graph.wait_for(wa, 4)  # The bot answers again (the question is re-asked).
        self.assertNotEqual(meta.text_of(sends[3]), "Ana here, how can I help?")
        self.refused(404, "not_found", "POST", "/contacts/+%s/pause?device=nope" % wa)
        self.refused(400, "bad_request", "POST", "/contacts/+%s/pause?device=pizza" % wa,
                     {"device": "other"})

    # --- events ---

    def test_events_stream(self):
        wa, other = "15550000108", "15550000109"
        ws = EventSocket(self.server.port, "/api/v1/events?contact=%2B" + wa,
                         {"Authorization": "Bearer " + READER})
        self.assertEqual(ws.status, 101)
        all_events = EventSocket(self.server.port, "/api/v1/events?token=" + ADMIN)
        self.assertEqual(all_events.status, 101)
        try:
            # The server subscribes a stream just after its upgrade: wait for both.
            wait_until(lambda: self.server.read_log().count('"event":"api_events_open"') >= 2,
                       "both event streams to be subscribed")
            self.say(other, "hi", "Other")
            self.graph.wait_for(other, 2)
            self.say(wa, "hi", "Eve")
            event, seen = ws.until(lambda e: e["type"] == "message_in", "message_in")
            self.assertEqual((event["device"], event["contact"], event["kind"], event["text"]),
                             ("pizza", "+" + wa, "text", "hi"))
            self.assertIsInstance(event["at_ms"], int)
            event, more = ws.until(lambda e: e["type"] == "message_out", "message_out")
            self.assertEqual(event["text"], "Welcome to Pizza Bot, Eve!")
            event, rest = ws.until(lambda e: e["type"] == "delivered", "delivered")
            self.assertTrue(event["provider_message_id"].startswith("wamid.out."))
            for e in seen + more + rest:
                self.assertEqual(e.get("contact"), "+" + wa, e)  # The filter holds.
            self.assertIn("conversation_started", [e["type"] for e in seen + more + rest])
            # The unfiltered stream saw the other contact too.
            all_events.until(lambda e: e.get("contact") == "+" + other, "the other contact")
            ws.say("client frames are ignored")
            self.server.ok("POST", "/messages", {"to": "+" + wa, "text": "ping"}, expect=202)
            event, _ = ws.until(lambda e: e["type"] == "message_out" and e["text"] == "ping",
                                "the API's send")
        finally:
            ws.close()
            all_events.close()

    # --- bad input ---

    def test_bad_input_gets_400_and_the_server_keeps_serving(self):
        s = self.server
        cases = [
            ("POST", "/messages", None, b"{not json", "not valid JSON"),
            ("POST", "/messages", None, b"[1, 2]", "JSON object"),
            ("POST", "/messages", {"to": "+1555", "txt": "hi"}, None, "'txt'"),
            ("POST", "/messages", {"to": "+1555"}, None, "one of text"),
            ("POST", "/messages", {"to": "+1555", "text": "a", "flow": "pizza"}, None, "text, flow"),
            ("POST", "/messages", {"to": "", "text": "a"}, None, "'to'"),
            ("POST", "/messages", {"to": 15550001, "text": "a"}, None, "'to' must be a string"),
            ("POST", "/messages", {"to": "+1555", "text": "a", "id": "x" * 129}, None, "'id'"),
            ("POST", "/messages", {"to": "+1555", "image": {"caption": "c"}}, None, "image.url"),
            ("POST", "/messages", {"to": "+1555", "image": {"url": "u", "size": 1}}, None,
             "image.size"),
            ("POST", "/messages", {"to": "+1555", "text": "a", "variables": {}}, None, "variables"),
            ("POST", "/messages", {"to": "+1555", "template": {"name": "n", "language": "en",
                                                               "params": [1]}}, None, "params"),
            ("GET", "/messages?limit=0", None, None, "limit"),
            ("GET", "/messages?limit=1001", None, None, "limit"),
            ("GET", "/messages?limit=ten", None, None, "limit"),
            ("GET", "/messages?direction=up", None, None, "direction"),
            ("GET", "/messages?since=yesterday", None, None, "since"),
            ("GET", "/messages?until=2026-13-01T00:00:00Z", None, None, "until"),
            ("GET", "/messages?cursor=zz", None, None, "cursor"),
            ("GET", "/conversations?contcat=x", None, None, "contcat"),
            ("GET", "/stats?limit=5", None, None, "limit"),
        ]
        for method, path, body, raw, needle in cases:
            with self.subTest(path=path, body=body, raw=raw):
                message, _ = self.refused(400, "bad_request", method, path, body, raw=raw)
                self.assertIn(needle, message)
        self.refused(415, "unsupported_media_type", "POST", "/messages", raw=b"to=x",
                     content_type="application/x-www-form-urlencoded")
        self.refused(404, "not_found", "POST", "/messages", {"device": "nope", "to": "+1", "text": "a"})
        # Still serving, and every refusal was logged.
        self.assertEqual(s.ok("GET", "/deployments")["next_cursor"], "")
        s.ok("POST", "/messages", {"to": "+15550000110", "text": "still here"}, expect=202)
        self.graph.wait_for("15550000110", 1)
        self.assertGreaterEqual(s.read_log().count('"event":"api_refused"'), len(cases) + 2)

    def test_times_in_rfc3339_and_milliseconds(self):
        wa = "15550000111"
        self.server.ok("POST", "/messages", {"to": "+" + wa, "text": "t"}, expect=202)
        item = self.logged("+" + wa, 1)[0]
        at = item["at_ms"]
        self.assertEqual(item["at"], time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at // 1000)) +
                         ".%03dZ" % (at % 1000))
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at // 1000))
        forms = {
            "ms": str(at),
            "rfc3339": base + ".%03dZ" % (at % 1000),
            "offset": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at // 1000 + 5400)) +
            ".%03d%%2B01:30" % (at % 1000),
            "space-for-plus": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at // 1000 + 5400)) +
            ".%03d+01:30" % (at % 1000),
        }
        for name, since in forms.items():
            with self.subTest(form=name):
                got = self.server.ok("GET", "/messages?contact=%2B" + wa + "&since=" + since)
                self.assertEqual(len(got["items"]), 1, since)
                got = self.server.ok("GET", "/messages?contact=%2B" + wa + "&until=" + since)
                self.assertEqual(got["items"], [], since)


class ServeApiWithoutTokens(unittest.TestCase):
    def test_no_tokens_configured(self):
        with tempfile.TemporaryDirectory(prefix="waflow-api-") as tmp:
            graph = meta.MockGraph()
            server = Server(tmp, graph.port, tokens=False)
            server.start()
            try:
                for method, path in (("GET", "/deployments"), ("POST", "/messages"),
                                     ("GET", "/stats")):
                    status, answer, headers = server.api(method, path, {"to": "+1", "text": "a"})
                    self.assertEqual(status, 401, answer)
                    self.assertEqual(answer["error"]["code"], "unauthorized")
                    self.assertIn("no API tokens are configured", answer["error"]["message"])
                    self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
                ws = EventSocket(server.port, "/api/v1/events?token=x")
                ws.close()
                self.assertEqual(ws.status, 401)
                self.assertEqual(server.request("GET", "/readyz")[0], 200)
            finally:
                self.assertEqual(server.stop(), 0)
                graph.close()


if __name__ == "__main__":
    meta.run_tests()
