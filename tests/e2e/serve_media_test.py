#!/usr/bin/env python3
"""End-to-end tests of media understanding in `waflow serve` (devices[].media).

The real binary runs on 127.0.0.1 with a SQLite file in a temp dir. Its Graph API is a mock
that also serves media (GET /v21.0/{media-id} answers the file's URL, GET that URL the bytes,
both only with the bearer token), and its models are a mock OpenAI-compatible server with
/audio/transcriptions (multipart) and /chat/completions (the image as a data URL). The flows:
`pizza` (keyword "pizza", priority 10) says what it heard; `other` (any) echoes what it got.

A voice note transcribed to "pizza" starts the pizza flow; an image's description is visible
to the flow; a failing model leaves the plain media message to the flows, and the log says
why; a text sent right behind a voice note waits for it and comes second; a download that
fails once (503) is retried by the outbox.

Nothing sleeps to wait for something: every wait polls with a bound.

  serve_media_test.py --waflow build/waflow [unittest args]
"""

import base64
import http.server
import json
import os
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_meta_test as meta  # noqa: E402  (the server process and webhook helpers)
import serve_ai_test as ai  # noqa: E402  (the serve cases' base class)

WAIT_S = 30
VOICE = b"OggS\x00fake-opus\xff\x00"
PICTURE = b"\x89PNG\r\n\x1a\nfake"

FLOWS = """flow pizza "Pizza"
  trigger keyword "pizza" priority 10
  say "Pizza time! Heard: {{message.transcript}}"

flow other "Anything else"
  trigger any
  say "Got {{message.type}}: {{message.text}} / {{message.description}}"
"""


class Recorder:
    """An HTTP server on 127.0.0.1 whose handler is a function of (method, path, headers,
    body) -> (status, content type, bytes); every request is recorded."""

    def __init__(self, answer):
        self.cond = threading.Condition()
        self.requests = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self, method):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                req = {"method": method, "path": self.path, "headers": dict(self.headers),
                       "body": body}
                status, ctype, data = answer(req)
                with rec.cond:
                    rec.requests.append(req)
                    rec.cond.notify_all()
                self.wfile.write(b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                                 % (status, ctype.encode(), len(data)) + data)

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def got(self, pred):
        with self.cond:
            return [r for r in self.requests if pred(r)]

    def wait_for(self, pred, count):
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                got = [r for r in self.requests if pred(r)]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d requests, got %d" % (count, len(got)))
                self.cond.wait(left)


class MediaGraph(Recorder):
    """Sends (POST .../messages) and media (GET /v21.0/{id}, GET /files/{id})."""

    FILES = {"voice-1": ("audio/ogg", VOICE), "pic-1": ("image/png", PICTURE)}

    def __init__(self):
        self.counter = 0
        self.busy = 0  # Media lookups still to answer 503 (a transient failure).
        super().__init__(self.answer)

    def answer(self, req):
        if req["headers"].get("Authorization") != "Bearer e2e-token":
            return 401, "application/json", b'{"error": {"message": "no token"}}'
        if req["method"] == "POST":
            self.counter += 1
            return 200, "application/json", json.dumps(
                {"messaging_product": "whatsapp", "messages": [{"id": "wamid.out.%d" %
                                                                self.counter}]}).encode()
        parts = req["path"].strip("/").split("/")
        if parts[0] == "v21.0" and self.busy > 0:
            self.busy -= 1
            return 503, "application/json", b'{"error": {"message": "try later"}}'
        if parts[0] == "v21.0" and parts[1] in self.FILES:
            mime, data = self.FILES[parts[1]]
            return 200, "application/json", json.dumps({
                "url": "http://127.0.0.1:%d/files/%s" % (self.port, parts[1]),
                "mime_type": mime, "file_size": len(data), "id": parts[1]}).encode()
        if parts[0] == "files" and parts[1] in self.FILES:
            mime, data = self.FILES[parts[1]]
            return 200, mime, data
        return 404, "application/json", b'{"error": {"message": "unknown media"}}'

    def texts(self, wa_id, count):
        sends = self.wait_for(lambda r: r["method"] == "POST" and
                              json.loads(r["body"]).get("to") == wa_id, count)
        return [json.loads(s["body"])["text"]["body"] for s in sends]


class Models(Recorder):
    """Transcriptions and chat completions; `fail` makes every answer a 400."""

    def __init__(self):
        self.fail = False
        super().__init__(self.answer)

    def answer(self, req):
        if self.fail:
            return 400, "application/json", json.dumps(
                {"error": {"message": "Invalid file format.", "type": "invalid_request_error"}}
            ).encode()
        if req["path"].endswith("/audio/transcriptions"):
            return 200, "application/json", b'{"text": "pizza please"}'
        return 200, "application/json", json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "vision-1",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant",
                                     "content": "A cat sleeping on a red sofa."}}],
            "usage": {"prompt_tokens": 90, "completion_tokens": 8}}).encode()


class MediaServer(meta.Server):
    def __init__(self, workdir, graph_port, models_port):
        flows = os.path.join(workdir, "media.wf")
        with open(flows, "w") as f:
            f.write(FLOWS)
        super().__init__(workdir, graph_port, flows=flows)
        base = "http://127.0.0.1:%d/v1" % models_port
        with open(self.config, "a") as f:
            f.write(f"""    media:
      transcribe: mock/whisper
      describe: mock/vision
      describe_prompt: "Describe the picture."
ai:
  models:
    mock/whisper:
      provider: openai
      model: whisper-1
      base_url: {base}
      max_retries: 0
      timeout: 10s
    mock/vision:
      provider: openai
      model: vision-1
      base_url: {base}
      max_retries: 0
      timeout: 10s
""")


def media_message(wa_id, msg_id, kind, media_id, mime):
    return {"from": wa_id, "id": msg_id, "timestamp": str(int(time.time())), "type": kind,
            kind: {"id": media_id, "mime_type": mime}}


class ServeMedia(ai.ServeWithModels):
    prefix = "waflow-serve-media-"
    sender = "Ana"

    def make_graph(self):
        return MediaGraph()

    def make_models(self):
        return Models()

    def make_server(self, workdir, graph_port, models_port):
        return MediaServer(workdir, graph_port, models_port)

    def post(self, wa_id, messages):
        status, body = self.server.webhook(meta.message_webhook(wa_id, self.sender, messages[0]) if
                                           len(messages) == 1 else self.batch(wa_id, messages))
        self.assertEqual(status, 200, body)

    def batch(self, wa_id, messages):
        payload = meta.message_webhook(wa_id, self.sender, messages[0])
        payload["entry"][0]["changes"][0]["value"]["messages"] = messages
        return payload

    def test_a_voice_note_transcribed_to_pizza_starts_the_pizza_flow(self):
        wa = "15550003001"
        self.post(wa, [media_message(wa, self.next_id(), "audio", "voice-1", "audio/ogg")])
        self.assertEqual(self.graph.texts(wa, 1), ["Pizza time! Heard: pizza please"])
        calls = self.models.got(lambda r: r["path"].endswith("/audio/transcriptions"))
        self.assertEqual(len(calls), 1)
        ctype = calls[0]["headers"]["Content-Type"]
        self.assertTrue(ctype.startswith("multipart/form-data; boundary="), ctype)
        boundary = ctype.split("boundary=")[1].encode()
        self.assertEqual(calls[0]["body"],
                         b"--" + boundary + b"\r\nContent-Disposition: form-data; "
                         b"name=\"model\"\r\n\r\nwhisper-1\r\n--" + boundary +
                         b"\r\nContent-Disposition: form-data; name=\"file\"; "
                         b"filename=\"voice.ogg\"\r\nContent-Type: audio/ogg\r\n\r\n" + VOICE +
                         b"\r\n--" + boundary + b"--\r\n")
        # The file came through the media lookup and the download, both with the token.
        paths = [r["path"] for r in self.graph.got(lambda r: r["method"] == "GET")]
        self.assertEqual(paths, ["/v21.0/voice-1", "/files/voice-1"])

    def test_an_image_description_is_visible_to_the_flow(self):
        wa = "15550003002"
        self.post(wa, [media_message(wa, self.next_id(), "image", "pic-1", "image/png")])
        self.assertEqual(self.graph.texts(wa, 1), [
            "Got image: A cat sleeping on a red sofa. / A cat sleeping on a red sofa."])
        chat = self.models.got(lambda r: r["path"].endswith("/chat/completions"))
        body = json.loads(chat[0]["body"])
        self.assertEqual(body["model"], "vision-1")
        self.assertEqual(body["messages"], [{"role": "user", "content": [
            {"type": "image_url", "image_url": {
                "url": "data:image/png;base64," + base64.b64encode(PICTURE).decode()}},
            {"type": "text", "text": "Describe the picture."}]}])
        # What the model used is kept with the AI steps' usage.
        self.server.settle()
        with sqlite3.connect(self.server.db) as db:
            rows = db.execute("SELECT provider, model, step, input_tokens, output_tokens, ok "
                              "FROM ai_usage").fetchall()
        self.assertEqual(rows, [("openai", "mock/vision", "media_describe", 90, 8, 1)])

    def test_a_failing_model_leaves_the_plain_media_message_and_logs_why(self):
        wa = "15550003003"
        self.models.fail = True
        self.post(wa, [media_message(wa, self.next_id(), "audio", "voice-1", "audio/ogg")])
        self.assertEqual(self.graph.texts(wa, 1), ["Got audio:  / "])
        log = self.server.read_log()
        failed = [line for line in log.splitlines() if '"event":"media_failed"' in line]
        self.assertEqual(len(failed), 1, log)
        self.assertIn("Invalid file format.", failed[0])
        self.assertIn(wa, failed[0])

    def test_a_download_that_fails_once_is_retried_by_the_outbox(self):
        wa = "15550003005"
        self.graph.busy = 1
        self.post(wa, [media_message(wa, self.next_id(), "audio", "voice-1", "audio/ogg")])
        self.assertEqual(self.graph.texts(wa, 1), ["Pizza time! Heard: pizza please"])
        paths = [r["path"] for r in self.graph.got(lambda r: r["method"] == "GET")]
        self.assertEqual(paths, ["/v21.0/voice-1", "/v21.0/voice-1", "/files/voice-1"])
        calls = [line for line in self.server.read_log().splitlines()
                 if '"event":"media_call"' in line]
        self.assertEqual(len(calls), 2)
        self.assertIn('"retry":true', calls[0])
        self.assertNotIn("media_failed", self.server.read_log())

    def test_a_text_behind_a_voice_note_waits_for_it(self):
        wa = "15550003004"
        self.post(wa, [media_message(wa, self.next_id(), "audio", "voice-1", "audio/ogg"),
                       meta.text_message(wa, self.next_id(), "and a cola")])
        texts = self.graph.texts(wa, 2)
        self.assertEqual(texts[0], "Pizza time! Heard: pizza please")
        self.assertEqual(texts[1], "Got text: and a cola / ")


if __name__ == "__main__":
    meta.run_tests()
