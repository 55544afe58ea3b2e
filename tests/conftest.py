import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


def run_rig(*args: str, cwd: Path | None = None, timeout: float = 120):
    """Run the real `rig` command in a subprocess (as a user would)."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "rig", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
