#!/usr/bin/env bash
# Idempotent set-up on Debian: system packages (JACK, PortAudio, simavr, AVR toolchain, avrdude,
# Chromium), a virtual environment in .venv with torch 2.13.0 (CPU) first, then rig itself.
# Usage: bash scripts/install.sh [--test]   (--test adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(jackd2 libportaudio2 libsndfile1 simavr gcc-avr avr-libc binutils-avr libsimavr-dev libelf-dev make gcc pkg-config)
# rig robot flash: avrdude uploads through the Arduino bootloader; arduino-core-avr ships that
# bootloader (optiboot), which the flash test runs in simavr
APT_PACKAGES+=(avrdude arduino-core-avr)
[ "${1:-}" = "--test" ] && APT_PACKAGES+=(chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch first and pinned: 2.13.0 is a CPU build; an unpinned install downloads CUDA wheels.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q torch==2.13.0
extras=""; [ "${1:-}" = "--test" ] && extras="[test,cluster]"  # the sweep tests need Ray
stamp=".venv/.rig-installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q -e ".$extras"
  touch "$stamp"
fi
