#!/usr/bin/env bash
# Everything CI checks: install, lint, firmware build + host unit tests, the pytest suites
# (simulated rig, JACK audio path, real Chromium for the dashboard).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
.venv/bin/ruff check rig tests
.venv/bin/ruff format --check rig tests
.venv/bin/mypy rig
make -s -C firmware all test
exec .venv/bin/python -m pytest -q "$@"
