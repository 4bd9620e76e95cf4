#!/usr/bin/env bash
# Installs everything waflow needs to build, test and run on Debian 12 (bookworm).
# Idempotent: packages already present are skipped by apt. Runs apt as root, or
# through sudo when invoked by another user.
set -euo pipefail

packages=(
  # Toolchain.
  build-essential cmake ninja-build pkgconf git
  clang clang-format clang-tidy libclang-rt-14-dev
  # The stack.
  libcli11-dev tao-pegtl-dev nlohmann-json3-dev libyaml-cpp-dev libcurl4-openssl-dev
  libsqlite3-dev libpqxx-dev libfmt-dev catch2 libboost-dev libssl-dev
  # Tests: schema validation of examples, man page rendering, locale checks.
  python3 python3-jsonschema python3-yaml man-db groff-base locales
  # Tests: the web chat in a headless browser.
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends "${missing[@]}"
fi

# A second UTF-8 locale, so tests can show that output does not depend on LC_ALL.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf8$'; then
  if [ -f /etc/locale.gen ]; then
    as_root sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen
    grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' | as_root tee -a /etc/locale.gen >/dev/null
    as_root locale-gen >/dev/null
  fi
fi
