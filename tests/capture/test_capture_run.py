"""The capture loop's own logic on the simulated audio path with a stand-in robot: manifest
and events, re-recording, skipping, pause/resume/abort, resume without duplicates. (The
real robot simulator is exercised in test_capture_reliability.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import rig.capture.run as capture_run
from rig.capture.options import CaptureOptions
from rig.capture.preflight import prepare
from rig.errors import UserError
from rig.session import Session, read_events, read_manifest
from tests.capture.capture_fakes import FakeRobot
from tests.capture.helpers import sim_options

MANIFEST_KEYS = {
    "take_id",
    "setting_id",
    "split",
    "knobs",
    "knobs_norm",
    "files",
    "sha256",
    "sample_rate",
    "samples",
    "content",
    "latency_samples",
    "device_delay_samples",
    "gains",
    "qc",
    "retries",
    "recorded_at",
}


@pytest.fixture(autouse=True)
def fake_robot(monkeypatch):
    monkeypatch.setattr(capture_run, "Robot", FakeRobot)


def types(folder: Path) -> list[str]:
    return [e["type"] for e in read_events(folder)[0]]


def test_a_run_stores_every_setting_once(tiny_plan, tmp_path):
    folder = tmp_path / "s"
    assert capture_run.run_capture(sim_options(tiny_plan, folder)) == 0
    records = read_manifest(folder)
    takes = [r for r in records if r["split"] != "reference"]
    session = Session.open(folder)
    assert sorted(r["setting_id"] for r in takes) == sorted(s.id for s in session.settings())
    assert [r["split"] for r in records].count("reference") == 2  # start and end
    assert all(MANIFEST_KEYS <= set(r) for r in records)
    assert session.verify() == []
    ev = types(folder)
    for kind in ("run_started", "robot", "moved", "levels", "take_recorded", "progress", "finished"):
        assert kind in ev
    assert ev[0] == "run_started"
    assert ev[-1] == "finished"


def test_failing_takes_are_rerecorded_then_skipped(tiny_plan, tmp_path):
    folder = tmp_path / "s"
    # Recording 0 is the start reference; 1 is the first setting (an xrun: re-recorded once);
    # 3..5 are every attempt of the second setting (silent return: skipped, not stored).
    faults = {1: "xrun", 3: "silent", 4: "silent", 5: "silent"}
    assert capture_run.run_capture(sim_options(tiny_plan, folder, audio_faults=faults)) == 1
    session = Session.open(folder)
    order = session.info["route"]
    records = {r["setting_id"]: r for r in read_manifest(folder)}
    assert records[order[0]]["retries"] == 1
    assert order[1] not in records
    events = read_events(folder)[0]
    failed = [e for e in events if e["type"] == "take_failed"]
    assert "xrun" in failed[0]["reason"]
    assert all("silent" in e["reason"] for e in failed[1:])
    assert any(e["type"] == "alert" and e["kind"] == "take_skipped" for e in events)
    # Resume captures only the skipped setting.
    assert capture_run.run_capture(sim_options(resume=folder)) == 0
    ids = [r["setting_id"] for r in read_manifest(folder) if r["split"] != "reference"]
    assert sorted(ids) == sorted(order)
    assert len(ids) == len(set(ids))


def test_pause_resume_abort_then_resume_without_duplicates(tiny_plan, tmp_path):
    folder = tmp_path / "s"
    opts = sim_options(tiny_plan, folder)
    run = capture_run.CaptureRun(prepare(opts), opts)
    commits = []

    def after_commit(record):
        commits.append(record["take_id"])
        if len(commits) == 2:
            run.control.pause()
            threading.Timer(0.3, run.control.resume).start()
        elif len(commits) == 3:
            run.control.abort()

    opts.after_commit = after_commit
    assert run.execute() == capture_run.EXIT_INTERRUPTED
    ev = types(folder)
    assert ev.index("paused") < ev.index("resumed") < ev.index("aborted")
    assert len([r for r in read_manifest(folder) if r["split"] != "reference"]) == 3
    assert run_resume(folder) == 0
    ids = [r["setting_id"] for r in read_manifest(folder) if r["split"] != "reference"]
    assert len(ids) == len(set(ids)) == len(Session.open(folder).info["route"])
    refs = [r["take_id"] for r in read_manifest(folder) if r["split"] == "reference"]
    assert [int(t[1:5]) for t in refs] == list(range(len(refs)))  # numbering goes on across the resume
    assert Session.open(folder).verify() == []


def run_resume(folder: Path) -> int:
    return capture_run.run_capture(sim_options(resume=folder))


def test_resume_refuses_a_changed_plan(tiny_plan, tmp_path):
    folder = tmp_path / "s"
    assert capture_run.run_capture(sim_options(tiny_plan, folder)) == 0
    tiny_plan.write_text(tiny_plan.read_text().replace("seconds: 1.0", "seconds: 2.0"))
    with pytest.raises(UserError, match="changed since") as err:
        prepare(CaptureOptions(plan_file=tiny_plan, resume=folder))
    assert "\n" not in str(err.value)
