#!/usr/bin/env bash
# make run: checks the example flows with the freshly built binary and prints
# where to go next. (The long-running server arrives with `waflow serve`.)
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
echo "waflow $("$build/cli/waflow" --version | awk '{print $2}'): checking examples/flows"
"$build/cli/waflow" check examples/flows
