"""Helpers for the capture tests: a tiny plan (2 knobs, few short takes) so simulated runs
take seconds, and the real `rig` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rig.capture import CaptureOptions

REPO = Path(__file__).resolve().parents[2]

TINY_PLAN = """\
version: 1
device: {{name: tiny test amp, simulator: amp}}
knobs:
  - {{name: gain, axis: 0, label: G}}
  - {{name: treble, axis: 1, label: T}}
  - {{name: volume, fixed: 5, label: V}}
settings:
  method: random
  count: {count}
  seed: 2
  validation_fraction: 0.25
  test: {{method: list, settings: [{{gain: 3.3, treble: 7.7}}]}}
  reference_every: {reference_every}
take:
  seconds: {seconds}
  pre_roll_s: 0.1
  post_roll_s: 0.1
  gain: {{every_s: 0.5}}
  max_retries: {retries}
audio: {{interface: virtual}}
robot: {{port: sim://native, settle_s: 0.05}}
train: {{auto: false}}
"""


def write_plan(folder: Path, count: int = 4, seconds: float = 1.0, reference_every: int = 0, retries: int = 2) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY_PLAN.format(count=count, seconds=seconds, reference_every=reference_every, retries=retries))
    return path


def rig_cmd(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rig", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def rig_run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = rig_cmd(*args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def mount_tmpfs(mnt: Path, size: str) -> Path:
    """A small tmpfs of `size` at `mnt`, for full-disk tests; skips where mounting is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt.mkdir(exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    return mnt


def unmount(mnt: Path) -> None:
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the disk to the last byte: big writes, then single bytes."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 16, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


def sim_options(plan_file: Path | None = None, session: Path | None = None, **kw) -> CaptureOptions:
    """A quiet capture on the simulated rig with no trainer and no dashboard, as most tests run it."""
    return CaptureOptions(
        plan_file=plan_file, session=session, sim=True, train=False, dashboard=False, quiet=True, **kw
    )
