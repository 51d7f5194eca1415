#!/usr/bin/env bash
# Installs the test tooling and runs the whole suite: lint, types, unit, integration and browser tests.
# On Debian/Ubuntu as root it installs Chromium with apt-get when missing (no browser downloads).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Chromium (Debian package) for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "== installing test tooling"
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e .

echo "== ruff"
python -m ruff check .
python -m ruff format --check .

echo "== mypy --strict src/thebot"
python -m mypy --strict src/thebot

echo "== pytest"
python -m pytest "$@"
