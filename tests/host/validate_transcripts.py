#!/usr/bin/env python3
"""Validates transcript files against schemas/transcript.schema.json.

Checks that the schema is a valid JSON Schema (draft 2020-12), that it accepts
every examples/flows/*.test.yaml, and that it refuses a few files the
transcript reader refuses too (so the schema is not vacuous).

  validate_transcripts.py --root SRC
"""
import argparse
import glob
import json
import os
import sys

import jsonschema
import yaml


class Loader(yaml.SafeLoader):
    """Reads scalars as waflow does: only true/false are booleans (`yes` and `no`
    are texts), and dates and times are texts."""


DROPPED = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
Loader.yaml_implicit_resolvers = {
    k: [(tag, regexp) for tag, regexp in v if tag not in DROPPED]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", __import__("re").compile(r"^(?:true|false)$"), list("tf"))

BAD = {
    "no tests": {"flows": "a.wf"},
    "unknown top-level key": {"tests": [{"name": "t", "steps": ["expect_none"]}], "test": []},
    "a test without steps": {"tests": [{"name": "t"}]},
    "an unknown step": {"tests": [{"name": "t", "steps": [{"expects": "hi"}]}]},
    "two keys in one step": {"tests": [{"name": "t", "steps": [{"user": "a", "expect": "b"}]}]},
    "a bad duration": {"tests": [{"name": "t", "steps": [{"advance": "soon"}]}]},
    "an ai mock without an answer": {"tests": [{"name": "t", "steps": [{"ai": {"step": "x"}}]}]},
    "an http mock without url": {"tests": [{"name": "t", "steps": [{"http": {"status": 200}}]}]},
    "a starting variable outside contact":
        {"tests": [{"name": "t", "vars": {"language": "es"}, "steps": ["expect_none"]}]},
    "an unknown media type":
        {"tests": [{"name": "t", "steps": [{"media": {"type": "gif", "url": "u"}}]}]},
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    with open(os.path.join(args.root, "schemas/transcript.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    files = sorted(glob.glob(os.path.join(args.root, "examples/flows/*.test.yaml")))
    if not files:
        problems.append("no examples/flows/*.test.yaml found")
    for path in files:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=Loader)
        for error in validator.iter_errors(data):
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{os.path.relpath(path, args.root)}: {where}: {error.message[:200]}")
    for name, data in BAD.items():
        if validator.is_valid(data):
            problems.append(f"the schema accepts {name}")
    for p in problems:
        print(p)
    print(f"{len(files)} transcript files and {len(BAD)} bad ones checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
