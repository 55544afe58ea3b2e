#!/usr/bin/env bash
# Train the quality benchmark for 2 minutes on the CUDA GPU and print its figures (JSON):
# test ESR, steps/s, samples/s, peak RSS. Needs a CUDA build of torch in .venv (the default
# install is CPU-only on machines without a GPU). Extra arguments go to `rig bench quality`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" - <<'PY'
import sys
import torch
if not torch.cuda.is_available():
    print(f"gpu-check: no CUDA GPU visible to torch {torch.__version__} (CUDA build: {torch.version.cuda}); "
          "install a CUDA build of torch into .venv and check nvidia-smi", file=sys.stderr)
    sys.exit(2)
print(f"gpu-check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}", file=sys.stderr)
PY
exec "$PY" -m rig bench quality --device cuda --budget-minutes 2 --threads "$(nproc)" "$@"
