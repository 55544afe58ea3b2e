"""Phases and their stopwatches, folded from event logs with chosen timestamps, and the real
trainer recording its own stop (SIGTERM) so that any later dashboard shows it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from rig.dashboard import create_app
from rig.session import EVENTS_FILE, read_events

from .conftest import BASE
from .dashboard_fakes import ROOT, make_session


def write_events(folder, events: list[tuple[float, str, dict]]) -> None:
    with open(folder / EVENTS_FILE, "a") as f:
        for t, kind, fields in events:
            f.write(json.dumps({"t": t, "type": kind, **fields}) + "\n")


def state_of(folder) -> dict:
    with TestClient(create_app(folder), base_url=BASE) as c:
        return c.get("/api/state").json()


def take(t: float, done: int, total: int) -> list[tuple[float, str, dict]]:
    return [
        (t, "take_recorded", {"take_id": f"t{done:04d}", "setting_id": done, "index": done, "split": "train"}),
        (t, "progress", {"done": done + 1, "total": total}),
    ]


@pytest.fixture
def session(tmp_path):
    return make_session(tmp_path / "session", count=6)


def test_a_pause_counts_neither_in_the_rate_nor_in_the_eta(session):
    total, t0 = len(session.info["route"]), 1000.0
    events = [(t0, "run_started", {"total": total, "estimate_s": 100.0})]
    for i in range(3):
        events += take(t0 + 10 * (i + 1), i, total)
    events += [(t0 + 30, "paused", {}), (t0 + 630, "resumed", {})]  # ten minutes away
    events += take(t0 + 640, 3, total)
    write_events(session.folder, events)
    capture = state_of(session.folder)["phase"]["capture"]
    assert capture["active_s"] == pytest.approx(40)
    assert capture["rate_per_h"] == pytest.approx(360)  # 10 s a take, not 160
    assert capture["eta_s"] == pytest.approx((total - 4) * 10)
    assert capture["state"] == "running"
    assert capture["as_of"] == t0 + 640

    write_events(session.folder, [(t0 + 650, "paused", {})])
    paused = state_of(session.folder)["phase"]["capture"]
    assert paused["state"] == "paused"
    assert paused["eta_s"] == pytest.approx((total - 4) * 10 - 10)


def test_phases_follow_capture_training_testing_and_export(session):
    total, t0 = len(session.info["route"]), 1000.0
    model = "tcn"
    steps = [
        ([(t0, "run_started", {"total": total})], "capture"),
        ([(t0 + 5, "train_started", {"model": model, "params": 100})], "capture"),  # trains during capture
        ([(t0 + 50, "finished", {"done": total, "total": total})], "training"),
        (
            [
                (
                    t0 + 80,
                    "train_epoch",
                    {"model": model, "epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "val_esr": 0.7},
                )
            ],
            "training",
        ),
        ([(t0 + 100, "train_test", {"model": model, "esr": 0.02, "per_setting": []})], "export"),
        ([(t0 + 104, "train_exported", {"model": model, "files": ["train/tcn/export/model.nam"]})], "export"),
        ([(t0 + 105, "train_finished", {"model": model, "test_esr": 0.02, "best_val_loss": 0.6})], "done"),
    ]
    for events, phase in steps:
        write_events(session.folder, events)
        assert state_of(session.folder)["phase"]["name"] == phase
    ph = state_of(session.folder)["phase"]
    assert ph["capture"]["active_s"] == pytest.approx(50)
    assert ph["capture"]["state"] == "done"
    assert ph["training"]["active_s"] == pytest.approx(50)
    assert ph["training"]["budget_s"] == pytest.approx(6.5 * 60)
    assert ph["export"]["active_s"] == pytest.approx(5)
    assert ph["export"]["eta_s"] == 0


def test_abort_in_training_is_shown_as_such_and_stops_the_eta(session):
    total, t0 = len(session.info["route"]), 1000.0
    write_events(
        session.folder,
        [
            (t0, "run_started", {"total": total}),
            (t0 + 50, "finished", {"done": total}),
            (t0 + 70, "aborted", {"phase": "training", "reason": "training stopped by a signal"}),
        ],
    )
    s = state_of(session.folder)
    assert s["phase"]["name"] == "aborted"
    assert s["phase"]["aborted_in"] == "training"
    assert s["phase"]["training"]["state"] == "aborted"
    assert s["phase"]["training"]["eta_s"] is None
    assert s["phase"]["capture"]["state"] == "done"
    assert s["run"]["state"] == "aborted"


def test_the_trainer_stopping_alone_does_not_end_a_running_capture(session):
    total, t0 = len(session.info["route"]), 1000.0
    write_events(
        session.folder,
        [
            (t0, "run_started", {"total": total}),
            (t0 + 5, "aborted", {"phase": "training", "reason": "training stopped by a signal"}),
        ],
    )
    s = state_of(session.folder)
    assert s["phase"]["name"] == "capture"
    assert s["run"]["state"] == "running"
    assert s["phase"]["training"]["state"] == "aborted"


def test_the_trainer_records_a_sigterm_and_a_later_dashboard_shows_aborted_in_training(tmp_path):
    from rig.train.testing import make_session as trainable_session
    from rig.train.testing import synthetic_plan

    session = trainable_session(tmp_path / "session", synthetic_plan(count=8, test_count=2, validation_fraction=0.25))
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "name: tiny\nbackbone: tcn\nconditioning: film\n"
        "architecture: {blocks: 2, kernel_size: 3, dilation_growth: 2, channels: 4}\n"
        "training: {lr: 0.01, segment_s: 0.1}\n"
    )
    write_events(
        session.folder,
        [(time.time(), "run_started", {"total": 10}), (time.time(), "finished", {"done": 10, "total": 10})],
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rig",
            "train",
            str(session.folder),
            "--model",
            str(config),
            "--quiet",
            "--threads",
            "1",
            "--budget-minutes",
            "30",
            "--patience",
            "1000",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(e["type"] == "train_epoch" for e in read_events(session.folder)[0]):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no train_epoch event within 120 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 130
    finally:
        proc.kill()
    last = read_events(session.folder)[0][-1]
    assert last["type"] == "aborted"
    assert last["phase"] == "training"
    s = state_of(session.folder)  # what `rig dashboard SESSION` serves afterwards
    assert (s["phase"]["name"], s["phase"]["aborted_in"]) == ("aborted", "training")
