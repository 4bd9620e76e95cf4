#!/usr/bin/env python3
"""Validates visual flow files against schemas/visual.schema.json.

Checks that the schema is a valid JSON Schema (draft 2020-12), that it accepts
every examples/visual/*.json plus any files given on the command line, and that
it refuses a few files the visual reader refuses too (so the schema is not
vacuous). Prints each violation with its JSON pointer.

  validate_visual_examples.py --root SRC [FILE...]
"""
import argparse
import copy
import glob
import json
import os
import sys

import jsonschema


def pointer(error):
    return "/" + "/".join(str(part) for part in error.absolute_path)


# A small valid file, and ways to break it that the schema must catch.
VALID = {
    "waflow": "visual",
    "version": 1,
    "flows": [{
        "name": "f",
        "nodes": [
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
            {"id": "say_1", "type": "message", "position": {"x": 0, "y": 150},
             "data": {"text": "Hi"}},
        ],
        "edges": [{"id": "start.next", "source": "start", "target": "say_1",
                   "sourceHandle": "next"}],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    }],
}


def broken():
    def change(fn):
        doc = copy.deepcopy(VALID)
        fn(doc)
        return doc

    node = lambda doc: doc["flows"][0]["nodes"][1]
    return {
        "another version": change(lambda d: d.update(version=2)),
        "an unknown node type": change(lambda d: node(d).update(type="mesage")),
        "a message without text": change(lambda d: node(d).update(data={})),
        "an unknown data key": change(lambda d: node(d)["data"].update(txt="Hi")),
        "a bad handle": change(
            lambda d: d["flows"][0]["edges"][0].update(sourceHandle="yes")),
        "a bad duration": change(
            lambda d: node(d).update(type="delay", data={"duration": "5 minutes"})),
        "a step id with a space": change(lambda d: node(d).update(id="say 1")),
        "a keyword trigger without values": change(
            lambda d: d["flows"][0].update(triggers=[{"kind": "keyword"}])),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the source tree")
    parser.add_argument("files", nargs="*", help="more visual files to validate")
    args = parser.parse_args()

    with open(os.path.join(args.root, "schemas/visual.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    files = sorted(glob.glob(os.path.join(args.root, "examples/visual/*.json"))) + args.files
    if not files:
        print("no visual examples found")
        return 1
    failures = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors:
            best = jsonschema.exceptions.best_match([error])
            print(f"{path}: {pointer(best)}: {best.message}")
        failures += bool(errors)
        if not errors:
            print(f"{path}: ok")
    if list(validator.iter_errors(VALID)):
        print("the schema refuses the small valid file")
        failures += 1
    for what, document in broken().items():
        if validator.is_valid(document):
            print(f"the schema accepts {what}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
