"""Disk full: refused up front when the whole run cannot fit; mid-run, a clear one-line
error and a session that resumes once space is back. Uses a small tmpfs (needs root)."""

from __future__ import annotations

import pytest

import rig.capture.run as capture_run
from rig.errors import UserError
from rig.session import Session, read_manifest
from tests.capture.capture_fakes import FakeRobot
from tests.capture.helpers import fill, mount_tmpfs, sim_options, unmount, write_plan


@pytest.fixture(autouse=True)
def fake_robot(monkeypatch):
    # Disk handling is the session's and the loop's business: the stand-in robot keeps this fast.
    monkeypatch.setattr(capture_run, "Robot", FakeRobot)


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    yield lambda size: mount_tmpfs(mnt, size)
    unmount(mnt)


def test_a_run_that_cannot_fit_is_refused_before_anything_moves(tmp_path, small_disk):
    disk = small_disk("2m")
    plan = write_plan(tmp_path)
    with pytest.raises(UserError, match="not enough free disk") as err:
        capture_run.run_capture(sim_options(plan_file=plan, session=disk / "s"))
    assert "\n" not in str(err.value)
    assert not (disk / "s").exists()


def test_disk_full_mid_run_is_a_clear_error_and_resumable(tmp_path, small_disk):
    disk = small_disk("12m")
    plan = write_plan(tmp_path)
    folder = disk / "s"
    fillers = []

    def after_commit(_record):
        if len(read_manifest(folder)) == 3 and not fillers:
            fillers.append(fill(disk))

    with pytest.raises(UserError, match="disk full") as err:
        capture_run.run_capture(sim_options(plan_file=plan, session=folder, after_commit=after_commit))
    msg = str(err.value)
    assert "\n" not in msg
    assert f"--resume {folder}" in msg
    stored = read_manifest(folder)
    assert len(stored) == 3
    assert Session.open(folder).verify() == []
    fillers[0].unlink()
    assert capture_run.run_capture(sim_options(resume=folder)) == 0
    ids = [r["setting_id"] for r in read_manifest(folder) if r["split"] != "reference"]
    assert sorted(ids) == sorted(s.id for s in Session.open(folder).settings())
    assert Session.open(folder).verify() == []
    assert not list((folder / "takes").glob("*.partial"))
