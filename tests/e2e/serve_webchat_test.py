#!/usr/bin/env python3
"""End-to-end test of the web chat in `waflow serve`: the real binary started
with examples/serve/local.yaml (every example flow on the built-in web chat, as
`make run` serves them) on a temporary SQLite file, and a page's WebSocket
protocol spoken over 127.0.0.1: the sandbox page and flow list are served, a
new contact's "hi" starts the menu flow through its first-contact trigger, the
pizza flow picked on the page starts for another contact, a tapped button answers
its question, and a server restart keeps the conversation where it was.

  serve_webchat_test.py --waflow build/cli/waflow
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "webchat"))
from browser_test import WebSocket  # noqa: E402  (the suite's minimal client)

DEADLINE_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, waflow, port, db):
        env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", WAFLOW_DB=db)
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [waflow, "serve", "--config", os.path.join(ROOT, "examples", "serve", "local.yaml")],
            env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + DEADLINE_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("waflow serve exited:\n" + self.output())
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("waflow serve did not become ready:\n" + self.output())

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


def until(ws, predicate, what):
    """Reads server frames until one satisfies `predicate`; returns it."""
    deadline = time.time() + DEADLINE_S
    seen = []
    while time.time() < deadline:
        frame = json.loads(ws.receive())
        seen.append(frame)
        if predicate(frame):
            return frame
    raise AssertionError(f"no {what} within {DEADLINE_S}s; frames: {seen}")


def bot_text(frame, start):
    return (frame.get("type") == "message" and
            str(frame.get("payload", {}).get("text", "")).startswith(start))


def check(waflow):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "web.db")
        port = free_port()
        server = Server(waflow, port, db)
        try:
            status, page = server.get("/")
            assert status == 200 and "<html" in page.lower(), (status, page[:200])
            status, flows = server.get("/webchat/flows")
            names = [f["name"] for f in json.loads(flows)["flows"]] if status == 200 else []
            assert "pizza" in names and "support" in names, (status, flows)

            # A typed message goes through the triggers: a new contact's first
            # message starts the menu flow (its first-contact trigger).
            first = WebSocket(f"ws://127.0.0.1:{port}/webchat/ws?contact=e2e-contact-2")
            first.send(json.dumps({"type": "message", "id": "m1", "text": "hi"}))
            # The reply and the ack follow the same commit: either may come first.
            frames = []
            until(first, lambda f: frames.append(f) or (
                any(g.get("type") == "ack" and g.get("id") == "m1" for g in frames) and
                any(g.get("type") == "message" for g in frames)), "the ack and the menu's question")
            language = next(f for f in frames if f.get("type") == "message")
            assert language["payload"]["type"] == "buttons", language
            assert [b["id"] for b in language["payload"]["buttons"]] == ["en", "es", "fr"], language

            # A flow picked on the page starts as an API trigger would.
            ws = WebSocket(f"ws://127.0.0.1:{port}/webchat/ws?contact=e2e-contact-1")
            ws.send(json.dumps({"type": "start", "flow": "pizza", "id": "s1"}))
            until(ws, lambda f: bot_text(f, "Welcome to Pizza Bot"), "the started flow")
            question = until(ws, lambda f: f.get("type") == "message" and
                             f["payload"].get("type") == "buttons", "the buttons")
            assert question["payload"]["text"] == "What would you like?", question
            button = question["payload"]["buttons"][0]
            assert button["title"] == "Margherita", question
            ws.send(json.dumps({"type": "tap", "id": "t1", "payload": button["id"],
                                "title": button["title"]}))
            until(ws, lambda f: bot_text(f, "Great choice: Margherita. What is your address?"),
                  "the answer to the tap")
        finally:
            code = server.stop()
        assert code == 0, f"waflow serve exited with {code}:\n{server.output()}"

        # The conversation survives a restart: the address answers the question.
        server = Server(waflow, port, db)
        try:
            ws = WebSocket(f"ws://127.0.0.1:{port}/webchat/ws?contact=e2e-contact-1")
            ws.send(json.dumps({"type": "message", "id": "m2", "text": "1 Baker Street"}))
            until(ws, lambda f: bot_text(f, "Order for Margherita to 1 Baker Street."),
                  "the confirmation after a restart")
        finally:
            server.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--waflow", required=True)
    a = p.parse_args()
    check(os.path.abspath(a.waflow))
    print("web chat end to end: ok")


if __name__ == "__main__":
    main()
