"""A real small session recorded once per test module with `rig capture --sim` (robot
simulator, simulated amp), copied for each test so tests can damage it freely."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.capture.helpers import rig_run, write_plan

CAPTURE = ("--sim", "--no-train", "--no-dashboard", "--quiet")


def capture(*args: str, cwd: Path | None = None):
    return rig_run("capture", *args, *CAPTURE) if cwd is None else _run_in(cwd, "capture", *args, *CAPTURE)


def _run_in(cwd: Path, *args: str):
    from tests.conftest import run_rig

    return run_rig(*args, cwd=cwd)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("recorded")
    plan = write_plan(base, count=3, seconds=1.0)
    folder = base / "session"
    result = capture("--plan", str(plan), "--session", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def session(recorded, tmp_path) -> Path:
    folder = tmp_path / "session"
    shutil.copytree(recorded, folder)
    return folder


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under takes/ (moved-aside ones included), by path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "takes").rglob("*"))
        if p.is_file()
    }


def assert_nothing_lost(before: dict[str, str], folder: Path) -> None:
    """Every file the rig was given is still there, unchanged: in place or moved aside."""
    after = digests(folder)
    kept = set(after.values())
    lost = [path for path, digest in before.items() if digest not in kept]
    assert not lost, f"files gone or changed: {lost}"
    for path, digest in before.items():
        if path in after and after[path] != digest:  # replaced in place: the old bytes must be aside
            assert any(p.startswith("takes/.orphans/") for p, d in after.items() if d == digest), path
