#!/usr/bin/env bash
# What the tests need besides Rust, installed where missing: the AWS CLI
# (requirements-dev.txt, from PyPI), which importjobctl's tests compare it
# with, and redis-server (Debian's package), which the shared-rate tests
# start and stop on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r requirements-dev.txt
if ! command -v redis-server >/dev/null; then
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null
fi
