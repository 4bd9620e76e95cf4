#!/usr/bin/env bash
# A short fuzzing run of each front end, seeded with the examples and the
# diagnostics catalogue, and of the bundle loader, seeded with bundles of the
# examples. Fails on any crash, leak or sanitizer report.
#   tests/fuzz/smoke.sh [FUZZ_BUILD_DIR] [SECONDS_PER_TARGET]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-fuzz}
seconds=${2:-${WAFLOW_FUZZ_SECONDS:-20}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seed() {
  local format=$1 ext
  mkdir -p "$work/$format"
  for ext in "${@:2}"; do
    find "$root/examples" "$root/tests" -name "*.$ext" -size -64k -exec cp {} "$work/$format/" \; 2>/dev/null || true
  done
  # The examples embedded in the diagnostics pages.
  python3 - "$root/docs/diagnostics" "$work/$format" "${@:2}" <<'PY'
import os, re, sys
src, dst, exts = sys.argv[1], sys.argv[2], set(sys.argv[3:])
for name in sorted(os.listdir(src)):
    text = open(os.path.join(src, name), encoding="utf-8").read()
    for i, (lang, body) in enumerate(re.findall(r"^```(\w+)\n(.*?)^```", text, re.M | re.S)):
        if lang in exts or (lang == "wf" and "wf" in exts):
            open(os.path.join(dst, f"{name}.{i}.{lang}"), "w", encoding="utf-8").write(body)
PY
}

seed dsl wf
seed yaml yaml yml
seed visual json
# The YAML tree's fast reader: the YAML of the repository and its own seeds.
seed yaml_tree yaml yml
cp "$root/tests/fuzz/seeds/yaml_tree/"* "$work/yaml_tree/"

# Bundles of the example flows, built by this tree's waflow: each file alone
# where it builds alone, then the whole directory as one project.
mkdir -p "$work/bundle"
for file in "$root"/examples/flows/*.wf "$root/examples/flows"; do
  "$build/cli/waflow" build -q -o "$work/bundle/$(basename "$file" .wf).wfb" "$file" \
    >/dev/null 2>&1 || true
done
if [ -z "$(ls "$work/bundle")" ]; then
  echo "fuzz smoke: no seed bundle could be built with $build/cli/waflow"
  exit 1
fi

# The gateways' webhook fixtures.
for gateway in meta waha; do
  mkdir -p "$work/gateway_$gateway"
  cp "$root/tests/gateways/fixtures/$gateway/"*.json "$work/gateway_$gateway/"
done

# Saved sessions: the target builds its own base blobs.
mkdir -p "$work/session_blob"

# Web chat frames: one of each kind, and a bot payload.
mkdir -p "$work/webchat_frame"
printf '%s' '{"type":"message","id":"m1","text":"hi"}' >"$work/webchat_frame/message.json"
printf '%s' '{"type":"tap","id":"t1","payload":"large","title":"Large","kind":"list"}' \
  >"$work/webchat_frame/tap.json"
printf '%s' '{"type":"start","flow":"pizza","id":"s1"}' >"$work/webchat_frame/start.json"
printf '%s' '{"type":"buttons","text":"Size?","buttons":[{"id":"s","title":"Small"}]}' \
  >"$work/webchat_frame/payload.json"

status=0
for format in dsl yaml yaml_tree visual bundle gateway_meta gateway_waha session_blob webchat_frame; do
  bin="$build/tests/fuzz/fuzz_$format"
  echo "fuzz smoke: $format for ${seconds}s ($(ls "$work/$format" | wc -l) seeds)"
  if ! "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=0 -close_fd_mask=3 "$work/$format" >"$work/$format.log" 2>&1; then
    echo "fuzz smoke: $format FAILED"
    tail -50 "$work/$format.log"
    status=1
  fi
done
exit $status
