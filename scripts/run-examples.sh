#!/usr/bin/env bash
# make run: checks and compiles the example flows with the freshly built binary.
# (`waflow serve`, the long-running server, is not part of this build yet.)
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
waflow="$build/cli/waflow"
echo "$("$waflow" --version): checking examples/flows"
"$waflow" check examples/flows
echo "compiling examples/flows into $build/examples.wfb"
"$waflow" build -q examples/flows -o "$build/examples.wfb"
