"""Torn writes: appends that store fewer bytes than asked (a full disk does that without an
error), appends that fail outright, and a real full disk in the middle of a manifest append.
The take being committed is not stored, nothing committed before is lost, resume completes
the session, and a line never fuses with a torn fragment."""

from __future__ import annotations

import errno
import json
import os

import pytest

from rig.capture import run_capture
from rig.errors import UserError
from rig.session import EventLog, Session, read_manifest
from rig.session.atomic import append_line_synced, repair_torn_tail, torn_tail
from rig.session.manifest import scan_manifest
from rig.train import checkpoint
from tests.capture.helpers import fill, mount_tmpfs, sim_options, unmount, write_plan
from tests.session.conftest import assert_nothing_lost, digests

REAL_WRITE, REAL_FTRUNCATE = os.write, os.ftruncate


def writes_to(fd: int, name: str) -> bool:
    return os.readlink(f"/proc/self/fd/{fd}").endswith(name)


@pytest.fixture
def short_writes(monkeypatch):
    """Make writes to files named `name` store only their first half, from the `after`-th on."""

    def arm(name: str, after: int = 0, fail: bool = False, cut_fails: bool = False):
        seen = []

        def write(fd, data):
            if writes_to(fd, name):
                seen.append(len(data))
                if len(seen) > after:
                    if fail:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    return REAL_WRITE(fd, bytes(data[: len(data) // 2]))
            return REAL_WRITE(fd, data)

        monkeypatch.setattr(os, "write", write)
        if cut_fails:

            def ftruncate(fd, size):
                if writes_to(fd, name):
                    raise OSError(errno.EIO, "Input/output error")
                return REAL_FTRUNCATE(fd, size)

            monkeypatch.setattr(os, "ftruncate", ftruncate)
        return seen

    return arm


# ---- the append itself ----------------------------------------------------------------
def test_a_short_append_is_an_error_and_leaves_the_file_as_it_was(tmp_path, short_writes):
    path = tmp_path / "log.jsonl"
    append_line_synced(path, '{"n": 1}')
    short_writes("log.jsonl")
    with pytest.raises(OSError, match="short write"):
        append_line_synced(path, json.dumps({"n": 2, "pad": "x" * 1400}))
    assert path.read_bytes() == b'{"n": 1}\n'


def test_a_fragment_that_could_not_be_cut_never_fuses_with_the_next_line(tmp_path, short_writes, monkeypatch):
    path = tmp_path / "log.jsonl"
    append_line_synced(path, '{"n": 1}')
    short_writes("log.jsonl", cut_fails=True)
    with pytest.raises(OSError, match="short write"):
        append_line_synced(path, '{"n": 2, "pad": "xxxxxxxxxxxxxxxxxxxx"}')
    monkeypatch.setattr(os, "write", REAL_WRITE)
    monkeypatch.setattr(os, "ftruncate", REAL_FTRUNCATE)
    assert torn_tail(path)  # the fragment is there
    append_line_synced(path, '{"n": 3}')
    lines = path.read_bytes().splitlines()
    assert lines[0] == b'{"n": 1}'
    assert lines[-1] == b'{"n": 3}'
    assert len(lines) == 3


def test_a_torn_last_line_is_repaired_after_saving_it_beside(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(b'{"n": 1}\n{"n": 2, "pa')
    kept = repair_torn_tail(path)
    assert kept is not None
    assert kept.parent == tmp_path
    assert kept.read_bytes() == b'{"n": 2, "pa'
    assert path.read_bytes() == b'{"n": 1}\n'
    assert repair_torn_tail(path) is None  # nothing left to repair


def test_an_event_written_short_raises_and_leaves_no_fragment(tmp_path, short_writes):
    log = EventLog(tmp_path / "events.jsonl")
    log.emit("first")
    short_writes("events.jsonl")
    with pytest.raises(OSError, match="short write"):
        log.emit("second", pad="x" * 1000)
    assert not torn_tail(tmp_path / "events.jsonl")
    assert [json.loads(line)["type"] for line in (tmp_path / "events.jsonl").read_text().splitlines()] == ["first"]


# ---- a capture whose manifest append fails, then resume ------------------------------------
@pytest.mark.parametrize("fault", ["short", "enospc", "short, and the cut fails too"])
def test_a_failed_manifest_append_stores_no_take_and_resume_loses_none(tmp_path, short_writes, monkeypatch, fault):
    plan = write_plan(tmp_path, count=3, seconds=1.0)
    folder = tmp_path / "s"
    # Appends: start reference, first take, then the second take's line fails.
    short_writes("manifest.jsonl", after=2, fail=fault == "enospc", cut_fails="cut" in fault)
    with pytest.raises(UserError, match="disk full") as err:
        run_capture(sim_options(plan_file=plan, session=folder))
    assert "\n" not in str(err.value)
    assert f"--resume {folder}" in str(err.value)
    monkeypatch.setattr(os, "write", REAL_WRITE)
    monkeypatch.setattr(os, "ftruncate", REAL_FTRUNCATE)
    assert len(read_manifest(folder)) == 2
    assert bool(scan_manifest(folder).torn) == ("cut" in fault)
    assert not list((folder / "takes").glob("*.partial")), "the take that was not stored leaves no temp file"
    before = digests(folder)
    assert run_capture(sim_options(resume=folder)) == 0
    assert_nothing_lost(before, folder)
    ids = [r["setting_id"] for r in read_manifest(folder) if r["split"] != "reference"]
    assert sorted(ids) == sorted(s.id for s in Session.open(folder).settings())
    assert Session.open(folder).verify() == []
    assert len(list(folder.glob("manifest.jsonl.torn-*"))) == ("cut" in fault)


@pytest.fixture
def small_disk(tmp_path):
    yield mount_tmpfs(tmp_path / "disk", "16m")
    unmount(tmp_path / "disk")


def test_a_full_disk_during_a_manifest_append_then_resume(tmp_path, small_disk, monkeypatch):
    plan = write_plan(tmp_path, count=3, seconds=1.0)
    folder = small_disk / "s"
    real_commit, fillers = Session.commit_take, []

    def commit_on_a_full_disk(self, record):
        if len(read_manifest(self.folder)) == 2 and not fillers:  # the take's WAVs are written
            # A blank line (readers skip those) leaves 100 bytes in the manifest's last tmpfs
            # page: once the disk is full, the ~1.4 kB line gets a short write of 100 bytes.
            manifest = self.folder / "manifest.jsonl"
            with open(manifest, "ab") as f:
                f.write(b" " * ((4096 - 100 - manifest.stat().st_size - 1) % 4096) + b"\n")
            fillers.append(fill(small_disk))
        return real_commit(self, record)

    short = []

    def spy(fd, data):  # the real write; notes short ones to the manifest
        written = REAL_WRITE(fd, data)
        if written < len(data) and writes_to(fd, "manifest.jsonl"):
            short.append((written, len(data)))
        return written

    monkeypatch.setattr(Session, "commit_take", commit_on_a_full_disk)
    monkeypatch.setattr(os, "write", spy)
    with pytest.raises(UserError, match="disk full") as err:
        run_capture(sim_options(plan_file=plan, session=folder))
    monkeypatch.setattr(os, "write", REAL_WRITE)
    assert "\n" not in str(err.value)
    assert short, "the manifest line was not written short"
    assert short[0][0] == 100, f"the manifest line was written short: {short}"
    assert fillers
    assert len(read_manifest(folder)) == 2
    assert not scan_manifest(folder).torn
    fillers[0].unlink()
    before = digests(folder)
    assert run_capture(sim_options(resume=folder)) == 0
    assert_nothing_lost(before, folder)
    assert Session.open(folder).verify() == []
    ids = [r["setting_id"] for r in read_manifest(folder) if r["split"] != "reference"]
    assert sorted(ids) == sorted(s.id for s in Session.open(folder).settings())


def test_a_checkpoint_on_a_full_disk_is_one_line_and_leaves_no_partial(small_disk):
    fill(small_disk)
    path = small_disk / "train" / "m" / "last.pt"
    (small_disk / "train" / "m").mkdir(parents=True)  # directories cost no data blocks on tmpfs
    import torch

    with pytest.raises(UserError, match="disk is full") as err:
        checkpoint.save(path, {"model": {"w": torch.zeros(100_000)}})
    assert "\n" not in str(err.value)
    assert "rig train again" in str(err.value)
    assert not list(path.parent.iterdir())
