#!/usr/bin/env python3
"""End-to-end tests of the commands that operate a running server: deploy,
deployments, send, query and contacts.

Each case of `Remote` starts the real `waflow serve` on 127.0.0.1 with a SQLite
file in a temp dir, its Graph API pointed at the mock of serve_meta_test.py (the
server, the mock and the webhook helpers are imported from there) and API
tokens in its config, then runs the real `waflow` commands against it.
`Offline` needs no server: the command line's rules, the CSV reader (through
--dry-run) and an unreachable server.

Nothing sleeps to wait for something: every wait polls with a bound.

  cli_remote_test.py --waflow build/waflow [unittest args, e.g. Remote.test_broadcast]
"""

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_meta_test as meta  # noqa: E402  (the server and Graph API mock)

WAFLOW = None
ROOT = meta.ROOT
ADMIN = "cli-admin-token-1f9c"
READER = "cli-read-token-77aa"
PIZZA = os.path.join(ROOT, "examples", "flows", "pizza.wf")


def run(*args, server=None, token=None, env=None, cwd=None):
    """Runs waflow; returns (status, stdout, stderr)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WAFLOW_")}
    environ["LC_ALL"] = "C.UTF-8"
    if server is not None:
        environ["WAFLOW_SERVER"] = server
    if token is not None:
        environ["WAFLOW_TOKEN"] = token
    environ.update(env or {})
    proc = subprocess.run([WAFLOW, *args], capture_output=True, text=True, env=environ,
                          cwd=cwd, timeout=meta.WAIT_S * 4)
    return proc.returncode, proc.stdout, proc.stderr


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write(folder, name, text, newline=None):
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8", newline=newline) as f:
        f.write(text)
    return path


# Quoted fields with commas, doubled quotes and a line break; "phone" is not
# the first column; CRLF line ends as spreadsheets write them.
CONTACTS_CSV = ('name,phone,city\r\n'
                '"Smith, Ann",+15552000001,Boston\r\n'
                '"Bob ""The Builder""",+15552000002,"New\r\nYork"\r\n'
                'Zoë,+15552000003,Paris\r\n')


class Offline(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-cli-")

    def tearDown(self):
        self.tmp.cleanup()

    def assertUsage(self, *args):
        code, out, err = run(*args, cwd=self.tmp.name)
        self.assertEqual(code, 2, "%s: exit %d\n%s%s" % (args, code, out, err))
        self.assertTrue(err.strip(), "%s: no message" % (args,))
        return err

    def test_usage_errors_exit_2(self):
        csv = write(self.tmp.name, "c.csv", "phone,name\n+1555,Ann\n")
        self.assertUsage("send", "--to", "+15550000000")
        self.assertUsage("send", "--text", "hi")
        self.assertUsage("send", "--to", "+1", "--to-file", csv, "--text", "hi")
        self.assertUsage("send", "--to", "+1", "--text", "hi", "--flow", "pizza")
        self.assertUsage("send", "--to", "+1", "--text", "hi", "--caption", "c")
        self.assertUsage("send", "--to", "+1", "--template", "t")
        self.assertUsage("send", "--to", "+1", "--flow", "pizza", "--var", "novalue")
        self.assertUsage("send", "--to", "+1", "--text", "hi", "--rate", "0")
        self.assertUsage("send", "--to", "+1", "--text", "hi", "--id", "x" * 129)
        self.assertUsage("send", "--to-file", os.path.join(self.tmp.name, "none.csv"),
                         "--text", "hi")
        err = self.assertUsage("send", "--to-file", csv, "--text", "Hi {{nmae}}", "--dry-run")
        self.assertIn("{{nmae}} is not a column of the file (its columns: name, phone)", err)
        self.assertUsage("query", "everything")
        self.assertUsage("query", "stats", "--limit", "5")
        self.assertUsage("query", "conversations", "--direction", "in")
        self.assertUsage("query", "messages", "--limit", "0")
        self.assertUsage("deployments")
        self.assertUsage("deployments", "activate")
        err = self.assertUsage("deployments", "activate", "abc123")
        self.assertIn("'abc123' is not a bundle hash", err)
        self.assertUsage("contacts", "pause")
        self.assertUsage("deploy")
        err = self.assertUsage("deployments", "list", "--server", "ftp://example.com")
        self.assertIn("the server 'ftp://example.com' is not a URL", err)

    def test_unreachable_server(self):
        port = meta.free_port()  # Nothing listens there.
        url = "http://127.0.0.1:%d" % port
        code, out, err = run("deployments", "list", server=url, token="secret-never-shown")
        self.assertEqual(code, 1, err)
        self.assertTrue(err.startswith("waflow deployments list: error: cannot reach %s: " % url),
                        err)
        code, out, err = run("query", "stats", "--server", url, "--token", "secret-never-shown")
        self.assertEqual(code, 1, err)
        self.assertIn("cannot reach %s" % url, err)
        self.assertNotIn("secret-never-shown", out + err)
        # A broadcast stops at the first row and says how to go on.
        csv = write(self.tmp.name, "c.csv", "phone\n+15550000001\n+15550000002\n")
        code, out, err = run("send", "--to-file", csv, "--text", "hi", server=url)
        self.assertEqual(code, 1, err)
        self.assertEqual(out, "0 queued, 0 duplicates, 1 failed, 1 not sent\n")
        self.assertIn("row 1 (line 2, +15550000001): cannot reach", err)
        self.assertIn("run the same command again", err)

    def test_csv_dry_run(self):
        csv = write(self.tmp.name, "contacts.csv", "\ufeff" + CONTACTS_CSV, newline="")
        code, out, err = run("send", "--to-file", csv, "--text", "Hello {{ name }} from {{city}}!",
                             "--dry-run")
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "3 messages would be sent (dry run: nothing sent)\n")
        with open(csv, "rb") as f:
            prefix = hashlib.sha256(f.read()).hexdigest()[:16]
        self.assertEqual(json_lines(out), [
            {"to": "+15552000001", "text": "Hello Smith, Ann from Boston!", "id": prefix + "-1"},
            {"to": "+15552000002", "text": 'Hello Bob "The Builder" from New\r\nYork!',
             "id": prefix + "-2"},
            {"to": "+15552000003", "text": "Hello Zoë from Paris!", "id": prefix + "-3"},
        ])
        # A flow gets the other columns and --var as variables; --id names the rows.
        code, out, err = run("send", "--to-file", csv, "--flow", "pizza", "--var", "promo=X{{city}}",
                             "--device", "pizza", "--id", "spring", "--dry-run")
        self.assertEqual(code, 0, err)
        first = json_lines(out)[0]
        self.assertEqual(first, {"device": "pizza", "to": "+15552000001", "flow": "pizza",
                                 "variables": {"name": "Smith, Ann", "city": "Boston",
                                               "promo": "XBoston"},
                                 "id": "spring-1"})
        # Template parameters; without a phone or to column the first column is the contact.
        plain = write(self.tmp.name, "plain.csv", "number,code\n+15553000001,A1\n")
        code, out, err = run("send", "--to-file", plain, "--template", "order_update",
                             "--language", "en_US", "--param", "{{code}}", "--param", "fixed",
                             "--dry-run")
        self.assertEqual(code, 0, err)
        body = json_lines(out)[0]
        self.assertEqual(body["to"], "+15553000001")
        self.assertEqual(body["template"], {"name": "order_update", "language": "en_US",
                                            "params": ["A1", "fixed"]})
        # A single send is sent as written: no columns, no placeholders replaced.
        code, out, err = run("send", "--to", "+15550000009", "--image", "https://x.test/a.png",
                             "--caption", "{{not a column}}", "--dry-run")
        self.assertEqual(code, 0, err)
        self.assertEqual(json_lines(out), [{"to": "+15550000009", "image": {
            "url": "https://x.test/a.png", "caption": "{{not a column}}"}}])

    def test_csv_errors_name_their_line(self):
        def fails(text, message):
            path = write(self.tmp.name, "bad.csv", text, newline="")
            code, out, err = run("send", "--to-file", path, "--text", "hi", "--dry-run")
            self.assertEqual(code, 1, err)
            self.assertEqual(out, "")
            self.assertEqual(err, "waflow send: error: %s:%s\n" % (path, message))

        # The quoted line break moves the bad row to line 4.
        fails('phone,name\n+1,"two\nlines"\n+2,Bob,extra\n',
              "4: the row has 3 fields; the header has 2")
        fails('phone,name\n+1,Ann\n+2\n', "3: the row has 1 field; the header has 2")
        fails('phone,name\n+1,"Ann\n', "2: a quoted field is not closed before the end of the file")
        fails('phone,name\n+1,An"n\n', '2: a quote inside an unquoted field (quote the whole field'
              ' and double the quotes inside: "say ""hi""")')
        fails('phone,name\n+1,"Ann"x\n', "2: text after the closing quote of a field")
        fails('phone,phone\n+1,+2\n', "1: the header names the column 'phone' twice")
        fails('phone,name\n,Ann\n', "2: the column 'phone' is empty")
        path = write(self.tmp.name, "empty.csv", "phone,name\n\n")
        code, out, err = run("send", "--to-file", path, "--text", "hi", "--dry-run")
        self.assertEqual((code, err), (1, "waflow send: error: %s has a header and no rows\n"
                                       % path))


class Remote(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="waflow-cli-remote-")
        self.graph = meta.MockGraph()
        self.server = meta.Server(self.tmp.name, self.graph.port)
        with open(self.server.config, "a") as f:
            f.write("api:\n  tokens:\n"
                    "    - {token: %s, scopes: [admin]}\n"
                    "    - {token: %s, scopes: [read]}\n" % (ADMIN, READER))
        self.server.start()
        self.url = "http://127.0.0.1:%d" % self.server.port
        self.seq = 0

    def tearDown(self):
        try:
            code = self.server.stop()
            if code not in (None, 0):
                print(self.server.read_log(), file=sys.stderr)
            self.assertIn(code, (None, 0), "waflow serve did not stop cleanly")
        finally:
            self.graph.close()
            self.tmp.cleanup()

    def waflow(self, *args, token=ADMIN, expect=0):
        code, out, err = run(*args, server=self.url, token=token, cwd=self.tmp.name)
        if expect is not None:
            self.assertEqual(code, expect, "waflow %s: exit %d\n%s%s" % (" ".join(args), code,
                                                                         out, err))
        for secret in (ADMIN, READER):
            self.assertNotIn(secret, out + err)
        return out, err

    def say(self, wa_id, text, name="User"):
        self.seq += 1
        payload = meta.message_webhook(
            wa_id, name, meta.text_message(wa_id, "wamid.cli.%d" % self.seq, text))
        status, body = self.server.webhook(payload)
        self.assertEqual(status, 200, body)

    def build(self, name, source):
        flow = write(self.tmp.name, name + ".wf", source)
        bundle = os.path.join(self.tmp.name, name + ".wfb")
        code, out, err = run("build", "-q", "-o", bundle, flow)
        self.assertEqual(code, 0, err)
        return bundle, out.strip().split(":", 1)[1]

    def active_hash(self):
        out, _ = self.waflow("deployments", "list", "--json")
        active = [d["hash"] for d in json_lines(out) if d["active"]]
        self.assertEqual(len(active), 1, out)
        return active[0].replace("sha256:", "")

    def test_deploy_list_activate_rollback(self):
        started = self.active_hash()  # The bundle serve compiled at start.
        with open(PIZZA, encoding="utf-8") as f:
            source = f.read()
        bundle, first = self.build("v1", source.replace("Welcome to", "Hello from"))
        out, _ = self.waflow("deploy", bundle, "--comment", "first try")
        self.assertEqual(out, "deployed %s (inactive)\n" % first)
        self.assertEqual(self.active_hash(), started)
        # Flow files are compiled first, as waflow build does, then uploaded.
        flow = write(self.tmp.name, "v2.wf", source.replace("Welcome to", "Hi from"))
        out, _ = self.waflow("deploy", flow, "--activate", "--comment", "second", "--author",
                             "ana")
        second = out.split()[1]
        self.assertEqual(out, "deployed %s (active)\n" % second)
        self.assertEqual(self.active_hash(), second)
        # The same bytes again: the same hash.
        out, _ = self.waflow("deploy", bundle)
        self.assertEqual(out, "deployed %s (inactive)\n" % first)

        out, _ = self.waflow("deployments", "list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["HASH", "CREATED", "AUTHOR", "COMMENT", "ACTIVE"])
        rows = {line.split()[0]: line for line in lines[1:]}
        self.assertEqual(set(rows), {started[:12], first[:12], second[:12]})
        self.assertEqual(rows[second[:12]].split()[2:], ["ana", "second", "*"], out)
        self.assertIn("first try", rows[first[:12]])
        self.assertFalse(rows[first[:12]].endswith("*"), out)

        out, _ = self.waflow("deployments", "activate", first[:8])
        self.assertEqual(out, "activated %s\n" % first)
        self.assertEqual(self.active_hash(), first)
        out, _ = self.waflow("deployments", "rollback")
        self.assertEqual(out, "rolled back: %s is active\n" % second)
        self.assertEqual(self.active_hash(), second)
        # New conversations start on the active bundle.
        self.say("15554000001", "hi", "Ann")
        self.assertEqual(meta.text_of(self.graph.wait_for("15554000001", 1)[0]),
                         "Hi from Pizza Bot, Ann!")

        _, err = self.waflow("deployments", "activate", "0123abcd", expect=1)
        self.assertEqual(err, "waflow deployments activate: error: no deployment's hash starts "
                              "with 0123abcd\n")
        # Refusals come back with the server's message and status.
        garbage = write(self.tmp.name, "garbage.wfb", "not a bundle")
        _, err = self.waflow("deploy", garbage, expect=1)
        self.assertRegex(err, r"^waflow deploy: error: .+ \(HTTP 422\)\n$")
        broken = write(self.tmp.name, "broken.wf", 'flow broken\n  trigger exact "x"\n'
                                                   '  goto nowhere\n')
        _, err = self.waflow("deploy", broken, expect=1)
        self.assertIn("error[WF0203]", err)
        self.assertTrue(err.endswith("waflow deploy: error: 1 error; nothing uploaded\n"), err)
        out, _ = self.waflow("deployments", "list", "--json")
        self.assertEqual(len(json_lines(out)), 3)

    def test_rollback_with_nothing_before_is_refused(self):
        _, err = self.waflow("deployments", "rollback", expect=1)
        self.assertRegex(err, r"^waflow deployments rollback: error: .+ \(HTTP 409\)\n$")

    def test_send_text_arrives_once(self):
        out, _ = self.waflow("send", "--to", "+15554000002", "--text", "Your order is ready",
                             "--id", "order-17")
        self.assertEqual(out, "queued message order-17 to +15554000002\n")
        sends = self.graph.wait_for("15554000002", 1)
        self.assertEqual(meta.text_of(sends[0]), "Your order is ready")
        out, _ = self.waflow("send", "--to", "+15554000002", "--text", "Your order is ready",
                             "--id", "order-17")
        self.assertEqual(out, "duplicate order-17: sent before, nothing sent again\n")
        self.server.settle()
        self.assertEqual(len(self.graph.to("15554000002")), 1)
        # A flow started for a contact sends its first message.
        out, _ = self.waflow("send", "--to", "+15554000003", "--flow", "pizza",
                             "--device", "pizza")
        self.assertRegex(out, r"^queued flow \S+ to \+15554000003\n$")
        self.assertEqual(meta.text_of(self.graph.wait_for("15554000003", 1)[0]),
                         "Welcome to Pizza Bot, !")

    def test_broadcast_twice_sends_once(self):
        csv = write(self.tmp.name, "contacts.csv", CONTACTS_CSV, newline="")
        args = ("send", "--to-file", csv, "--text", "Hello {{name}} in {{city}}", "--rate", "50")
        out, err = self.waflow(*args)
        self.assertEqual(out, "3 queued, 0 duplicates, 0 failed\n")
        self.assertEqual(err, "")  # No progress line: stderr is not a terminal.
        expected = {"15552000001": "Hello Smith, Ann in Boston",
                    "15552000002": 'Hello Bob "The Builder" in New\r\nYork',
                    "15552000003": "Hello Zoë in Paris"}
        for wa, text in expected.items():
            self.assertEqual(meta.text_of(self.graph.wait_for(wa, 1)[0]), text)
        # Run again, as after an interruption: every row is a duplicate.
        out, _ = self.waflow(*args)
        self.assertEqual(out, "0 queued, 3 duplicates, 0 failed\n")
        self.server.settle()
        for wa in expected:
            self.assertEqual(len(self.graph.to(wa)), 1)

    def test_broadcast_lists_failed_rows(self):
        csv = write(self.tmp.name, "contacts.csv", "phone\n+15552100001\n+15552100002\n")
        out, err = self.waflow("send", "--to-file", csv, "--flow", "no_such_flow", expect=1)
        self.assertEqual(out, "0 queued, 0 duplicates, 2 failed\n")
        failed = err.splitlines()
        self.assertEqual(len(failed), 2, err)
        self.assertRegex(failed[0], r"^waflow send: error: row 1 \(line 2, \+15552100001\): "
                                    r".*no_such_flow.* \(HTTP 404\)$")
        self.assertTrue(failed[1].startswith("waflow send: error: row 2 (line 3, +15552100002)"))

    def test_query_conversations_messages_stats(self):
        contacts = ["15554100001", "15554100002", "15554100003"]
        for wa in contacts:
            self.say(wa, "hi", "Q")
            self.graph.wait_for(wa, 2)  # The welcome and the buttons.
        self.server.settle()
        # Paging: 2 a page, followed to the end; newest first, none twice.
        out, _ = self.waflow("query", "messages", "--limit", "2", "--all", "--json")
        messages = json_lines(out)
        self.assertEqual(len(messages), 9, out)
        self.assertEqual(len({m["id"] for m in messages}), 9)
        self.assertEqual([m["at_ms"] for m in messages],
                         sorted((m["at_ms"] for m in messages), reverse=True))
        self.assertEqual(sum(m["direction"] == "in" for m in messages), 3)
        # Without --all: the first page, and a note that there is more.
        out, err = self.waflow("query", "messages", "--limit", "2", "--json")
        self.assertEqual(len(json_lines(out)), 2)
        self.assertEqual(err, "(more messages: --all for every page, or narrow with --since)\n")
        out, _ = self.waflow("query", "messages", "--contact", "+15554100002", "--direction",
                             "in", "--json", token=READER)
        only = json_lines(out)
        self.assertEqual([(m["contact"], m["text"]) for m in only], [("+15554100002", "hi")])
        out, _ = self.waflow("query", "messages", "--since", "1h", "--until",
                             str(int(time.time() * 1000) + 60000), "--json")
        self.assertEqual(len(json_lines(out)), 9)
        out, _ = self.waflow("query", "messages", "--since", "2030-01-01T00:00:00Z", "--json")
        self.assertEqual(out, "")
        _, err = self.waflow("query", "messages", "--since", "yesterday", expect=1)
        self.assertRegex(err, r"^waflow query: error: .*since.* \(HTTP 400\)\n$")

        out, _ = self.waflow("query", "conversations", "--limit", "1", "--all", "--json")
        conversations = json_lines(out)
        self.assertEqual(sorted(c["contact"] for c in conversations),
                         ["+" + wa for wa in contacts])
        self.assertTrue(all(c["flow"] == "pizza" for c in conversations), out)
        out, _ = self.waflow("query", "conversations", "--flow", "pizza")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(),
                         ["STARTED", "DEVICE", "CONTACT", "FLOW", "STATUS", "STEP", "RUN"])
        self.assertEqual(len(lines), 4, out)
        self.assertIn("+15554100003", out)
        out, _ = self.waflow("query", "messages", "--contact", "+15554100001")
        self.assertIn("Welcome to Pizza Bot, Q!", out)
        self.assertIn("What would you like?", out)

        out, _ = self.waflow("query", "stats", "--json")
        stats = json_lines(out)
        self.assertEqual(len(stats), 1, out)
        days = stats[0]["messages_per_day"]
        self.assertEqual((sum(d["in"] for d in days), sum(d["out"] for d in days)), (3, 6))
        pizza = [f for f in stats[0]["flows"] if f["flow"] == "pizza"]
        self.assertEqual(pizza[0]["started"], 3, out)
        out, _ = self.waflow("query", "stats")
        self.assertIn("Messages per day", out)
        self.assertIn("FLOW", out)

    def test_query_records(self):
        wa = "15554100009"
        self.say(wa, "hi", "R")
        sends = self.graph.wait_for(wa, 2)
        button = sends[1]["body"]["interactive"]["action"]["buttons"][0]["reply"]["id"]
        self.seq += 1
        status, body = self.server.webhook(meta.message_webhook(
            wa, "R", meta.button_message(wa, "wamid.cli.%d" % self.seq, button, "Margherita")))
        self.assertEqual(status, 200, body)
        self.graph.wait_for(wa, 3)
        self.say(wa, "1 Baker Street", "R")
        self.graph.wait_for(wa, 4)
        self.say(wa, "yes", "R")
        placed = meta.text_of(self.graph.wait_for(wa, 5)[4])
        reference = placed.rsplit(" ", 1)[1]
        out, _ = self.waflow("query", "records", "--collection", "orders", "--json",
                             token=READER)
        records = json_lines(out)
        self.assertEqual(len(records), 1, out)
        self.assertEqual((records[0]["id"], records[0]["collection"], records[0]["contact"]),
                         (reference, "orders", "+" + wa))
        self.assertEqual(records[0]["data"], {"pizza": "Margherita", "address": "1 Baker Street"})
        out, _ = self.waflow("query", "records")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(),
                         ["CREATED", "COLLECTION", "ID", "DEVICE", "CONTACT", "FLOW", "DATA"])
        self.assertIn(reference, lines[1])
        out, _ = self.waflow("query", "records", "--collection", "signups", "--json")
        self.assertEqual(out, "")
        _, err = self.waflow("query", "messages", "--collection", "orders", expect=2)
        self.assertIn("--collection goes with records", err)

    def test_pause_and_resume(self):
        wa = "15554200001"
        out, _ = self.waflow("contacts", "pause", "+" + wa, "--device", "pizza")
        self.assertEqual(out, "paused +%s on pizza: the bot stays silent until it is resumed\n"
                         % wa)
        out, _ = self.waflow("contacts", "show", "+" + wa, "--json", token=READER)
        self.assertTrue(json.loads(out)["paused"], out)
        self.say(wa, "hi", "Paused")
        # Once the engine has taken the message from the inbox, no reply went out.
        deadline = time.monotonic() + meta.WAIT_S
        while True:
            db = sqlite3.connect(self.server.db)
            try:
                (waiting,) = db.execute("SELECT COUNT(*) FROM inbox").fetchone()
            finally:
                db.close()
            if waiting == 0:
                break
            self.assertLess(time.monotonic(), deadline, "the inbox was not drained")
            time.sleep(0.02)
        self.server.settle()
        self.assertEqual(self.graph.to(wa), [])
        out, _ = self.waflow("contacts", "resume", "+" + wa)
        self.assertEqual(out, "resumed +%s on pizza: the bot answers again\n" % wa)
        out, _ = self.waflow("contacts", "show", "+" + wa)
        self.assertRegex(out, r"(?m)^paused: +false$")
        self.say(wa, "hi", "Paused")
        self.assertEqual(meta.text_of(self.graph.wait_for(wa, 1)[0]),
                         "Welcome to Pizza Bot, Paused!")

    def test_refused_tokens(self):
        _, err = self.waflow("deployments", "list", token="wrong-token", expect=1)
        self.assertRegex(err, r"^waflow deployments list: error: .+ \(HTTP 401\)\n$")
        self.assertNotIn("wrong-token", err)
        with open(PIZZA, encoding="utf-8") as f:
            bundle, _ = self.build("v1", f.read())
        _, err = self.waflow("deploy", bundle, token=READER, expect=1)
        self.assertEqual(err, "waflow deploy: error: this token lacks the deploy scope "
                              "(HTTP 403)\n")
        _, err = self.waflow("send", "--to", "+15554300001", "--text", "x", token=READER,
                             expect=1)
        self.assertIn("lacks the send scope (HTTP 403)", err)
        _, err = self.waflow("contacts", "show", "+15554300001", token="", expect=1)
        self.assertRegex(err, r"\(HTTP 401\)\n$")


def main():
    global WAFLOW
    parser = argparse.ArgumentParser()
    parser.add_argument("--waflow", required=True)
    args, rest = parser.parse_known_args()
    WAFLOW = os.path.abspath(args.waflow)
    meta.WAFLOW = WAFLOW
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
