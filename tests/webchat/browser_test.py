#!/usr/bin/env python3
"""The web chat in a real browser: headless Chromium opens the sandbox page served by
webchat_test_host, types "hi", sees the bot's buttons, clicks one with the mouse and sees the
reply; starts a flow from the list. Then the widget, embedded in a page of another origin (a
second server of the test host): the bubble opens the panel, and the same conversation works
inside its shadow root.

Chromium is driven through the DevTools protocol over its WebSocket endpoint, with a minimal
WebSocket client written here (the standard library has none, and no pip packages are used).
The page must also log no error: a Content-Security-Policy violation or a script error fails
the test.

Usage: browser_test.py PATH/TO/webchat_test_host
Exits 77 (skipped) only when no chromium is installed.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
DEADLINE_S = 60  # for each wait; generous, so a loaded machine does not fail the test


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class WebSocket:
    """A client for one ws:// URL: text frames out (masked), text frames in."""

    def __init__(self, url):
        assert url.startswith("ws://"), url
        rest = url[len("ws://"):]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=DEADLINE_S)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RuntimeError(f"DevTools refused the WebSocket: {status!r}")
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if accept not in head:
            raise RuntimeError("DevTools answered with a wrong Sec-WebSocket-Accept")

    def send(self, text):
        data = text.encode()
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self):
        """The next whole text message (fragments joined; pings answered)."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode = first & 0x0F
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode == 0x9:  # ping
                continue
            if opcode in (0x1, 0x0):
                message += payload
                if first & 0x80:
                    return message.decode()


class DevTools:
    """Commands to one page target, and the events it reports meanwhile."""

    def __init__(self, url):
        self.ws = WebSocket(url)
        self.next_id = 0
        self.errors = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.event(message)

    def event(self, message):
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(json.dumps(params.get("args", []))[:500])

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate {expression!r}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, what):
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; page: {self.page_text()!r}")

    def page_text(self):
        return self.evaluate("document.body ? document.body.innerText : ''")

    def click(self, selector_expression):
        """A real mouse click at the middle of the element."""
        box = self.evaluate(
            "(() => { const e = " + selector_expression + "; e.scrollIntoView();"
            " const r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                      button="left", clickCount=1)


def devtools_port(profile, browser):
    """The port chromium chose (--remote-debugging-port=0), from DevToolsActivePort."""
    path = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            raise RuntimeError(f"chromium exited with status {browser.returncode}")
        try:
            with open(path) as f:
                first = f.readline().strip()
            if first:
                return int(first)
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def page_target(port):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        for t in targets:
            if t.get("type") == "page" and "webSocketDebuggerUrl" in t:
                return t["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise RuntimeError("chromium has no page target")


def widget(tools, site_url):
    """The widget on the shop's page: a bubble that opens the chat, inside a shadow root."""
    tools.call("Page.navigate", url=site_url)
    root = "document.querySelector('[data-waflow-widget]').shadowRoot"
    tools.wait_for("document.querySelector('[data-waflow-widget]') !== null && " + root +
                   ".querySelector('.wf-bubble') !== null", "the widget's bubble")
    assert tools.evaluate(root + ".querySelector('.wf-panel').hidden") is True
    # The style sheet comes from the chat server: the bubble is fixed in the corner.
    tools.wait_for("getComputedStyle(" + root + ".querySelector('.wf-bubble')).position"
                   " === 'fixed'", "the widget's style sheet")

    tools.click(root + ".querySelector('.wf-bubble')")
    tools.wait_for("!" + root + ".querySelector('.wf-panel').hidden", "the panel to open")
    assert tools.evaluate(root + ".querySelector('.wf-bubble').getAttribute('aria-expanded')") \
        == "true"
    tools.wait_for(root + ".activeElement && " + root + ".activeElement.type === 'text'",
                   "the widget's message box to have the focus")
    tools.call("Input.insertText", text="hello")
    tools.click(root + ".querySelector('.wf-compose button')")
    tools.wait_for(root + ".querySelectorAll('.wf-bot .wf-choice').length === 2",
                   "the bot's buttons in the widget")
    tools.click("Array.from(" + root + ".querySelectorAll('.wf-choice'))"
                ".find(e => e.textContent === 'Small')")
    tools.wait_for("Array.from(" + root + ".querySelectorAll('.wf-bot'))"
                   ".some(e => e.textContent === 'You picked Small')",
                   "the reply to the tap in the widget")

    # Escape closes the panel and gives the focus back to the bubble.
    for kind in ("keyDown", "keyUp"):
        tools.call("Input.dispatchKeyEvent", type=kind, key="Escape", code="Escape",
                   windowsVirtualKeyCode=27, nativeVirtualKeyCode=27)
    tools.wait_for(root + ".querySelector('.wf-panel').hidden", "the panel to close")
    assert tools.evaluate(root + ".activeElement === " + root + ".querySelector('.wf-bubble')")


def run(host_binary, chromium):
    host = subprocess.Popen([host_binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    profile = tempfile.mkdtemp(prefix="waflow-chromium-")
    browser = None
    try:
        line = host.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"webchat_test_host did not start: {line!r}")
        url = line[len("listening on "):]
        line = host.stdout.readline().strip()
        if not line.startswith("site on "):
            raise RuntimeError(f"webchat_test_host did not start its site: {line!r}")
        site_url = line[len("site on "):]

        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--user-data-dir={profile}", "--window-size=390,800", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tools = DevTools(page_target(devtools_port(profile, browser)))
        tools.call("Runtime.enable")
        tools.call("Log.enable")
        tools.call("Page.enable")
        tools.call("Page.navigate", url=url)

        # The page loads its script, lists the flows and connects.
        tools.wait_for("document.querySelector('#wf-start[data-ready]') !== null",
                       "the list of flows")
        flows = tools.evaluate(
            "Array.from(document.querySelectorAll('#wf-flow option')).map(o => o.value)")
        assert flows == ["pizza"], flows
        tools.wait_for("document.activeElement && document.activeElement.type === 'text'",
                       "the message box to have the focus")

        # Type "hi" as a user would, and send it with Enter.
        tools.call("Input.insertText", text="hi")
        for kind in ("keyDown", "keyUp"):
            tools.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                       windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                       **({"text": "\r"} if kind == "keyDown" else {}))
        tools.wait_for("Array.from(document.querySelectorAll('.wf-user'))"
                       ".some(e => e.textContent === 'hi')", "the user's message")
        tools.wait_for("document.querySelectorAll('.wf-user.wf-pending').length === 0",
                       "the server to acknowledge the message")

        # The bot answers with two buttons.
        tools.wait_for("document.querySelectorAll('.wf-bot .wf-choice').length === 2",
                       "the bot's buttons")
        titles = tools.evaluate("Array.from(document.querySelectorAll('.wf-bot .wf-choice'))"
                                ".map(e => e.textContent)")
        assert titles == ["Small", "Large"], titles
        assert "Which size?" in tools.page_text()

        # Click "Large" with the mouse; the bot answers the tap.
        tools.click("Array.from(document.querySelectorAll('.wf-choice'))"
                    ".find(e => e.textContent === 'Large')")
        tools.wait_for("Array.from(document.querySelectorAll('.wf-bot'))"
                       ".some(e => e.textContent === 'You picked Large')", "the reply to the tap")

        # Starting a flow from the list works too.
        tools.click("document.getElementById('wf-start-button')")
        tools.wait_for("Array.from(document.querySelectorAll('.wf-bot'))"
                       ".some(e => e.textContent === 'Welcome to Pizza order')",
                       "the flow's greeting")

        # A reload is the same contact: the conversation goes on.
        contact = tools.evaluate("localStorage.getItem('waflow.webchat.contact.web')")
        assert contact and 8 <= len(contact) <= 64, contact

        # Nothing was blocked by the Content-Security-Policy and no script failed. Events
        # that arrived after the last command are read by one more round trip.
        tools.evaluate("1")
        if tools.errors:
            raise AssertionError("the sandbox page logged errors:\n" + "\n".join(tools.errors))

        widget(tools, site_url)
        tools.evaluate("1")
        if tools.errors:
            raise AssertionError("the widget logged errors:\n" + "\n".join(tools.errors))
        print("webchat browser test: typed, tapped and started a flow in the sandbox, and "
              "chatted through the widget on another origin, in", chromium)
        return 0
    finally:
        if browser is not None:
            browser.terminate()
            try:
                browser.wait(timeout=20)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()
        host.stdin.close()
        try:
            host.wait(timeout=20)
        except subprocess.TimeoutExpired:
            host.kill()
            host.wait()
        shutil.rmtree(profile, ignore_errors=True)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: browser_test.py PATH/TO/webchat_test_host\n")
        return 2
    chromium = find_chromium()
    if chromium is None:
        print("SKIP: chromium is not installed (apt-get install chromium); "
              "the web chat was not tried in a browser")
        return SKIP
    return run(argv[1], chromium)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
