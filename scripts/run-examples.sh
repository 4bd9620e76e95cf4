#!/usr/bin/env bash
# make run: checks the example flows, then serves them on the built-in web chat
# (examples/serve/local.yaml) with a SQLite database in the build directory,
# until Ctrl-C. PORT and HOST override the address.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
waflow="$build/cli/waflow"
echo "$("$waflow" --version): checking examples/flows"
"$waflow" check examples/flows
export WAFLOW_DB="$PWD/$build/run.db"
echo "serving examples/flows with the web chat at http://${HOST:-127.0.0.1}:${PORT:-8080}/"
echo "(database $WAFLOW_DB; Ctrl-C stops)"
exec "$waflow" serve --config examples/serve/local.yaml
