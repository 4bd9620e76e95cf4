#!/usr/bin/env python3
"""Validates YAML flow files against schemas/flow.schema.json.

Checks that the schema is a valid JSON Schema (draft 2020-12), then validates
every examples/yaml/*.yaml, plus any files given on the command line, and
prints each violation with its path in the document.

  validate_yaml_examples.py --root SRC [FILE...]
"""
import argparse
import glob
import json
import os
import sys

import jsonschema
import yaml


def location(error):
    return "/".join(str(part) for part in error.absolute_path) or "(top level)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the source tree")
    parser.add_argument("files", nargs="*", help="more YAML files to validate")
    args = parser.parse_args()

    with open(os.path.join(args.root, "schemas/flow.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    files = sorted(glob.glob(os.path.join(args.root, "examples/yaml/*.yaml"))) + args.files
    if not files:
        print("no YAML examples found")
        return 1
    failures = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            document = yaml.safe_load(f)
        # The innermost errors say the most; oneOf failures nest the rest.
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors:
            best = jsonschema.exceptions.best_match([error])
            print(f"{path}: {location(best)}: {best.message}")
        failures += bool(errors)
        if not errors:
            print(f"{path}: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
