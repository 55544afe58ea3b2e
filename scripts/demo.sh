#!/usr/bin/env bash
# The main job on the simulated rig: capture with the firmware simulator and a virtual amp,
# automatic training, report. Extra arguments go to `rig capture`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/rig capture --plan capture_plans/demo.yaml --sim "$@"
