"""Pieces of the capture run that need no rig: names, disk estimate, pre-flight refusals,
the run control and the signal guard."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from rig.capture.control import Aborted, CaptureControl, SignalGuard
from rig.capture.naming import compact, take_id
from rig.capture.options import CaptureOptions
from rig.capture.preflight import bytes_per_take, check_disk, needed_bytes, reference_count
from rig.errors import UserError
from rig.plan import load_plan


def test_compact_values():
    assert [compact(v) for v in (6.5, 5.0, 0.0, 3.333, 10, 2.1004)] == ["6.5", "5", "0", "3.333", "10", "2.1"]


def test_take_id_uses_tags_of_sampled_knobs(tiny_plan):
    plan = load_plan(tiny_plan)
    assert take_id(7, plan, {"gain": 4.0, "treble": 6.5, "volume": 5.0}) == "t0007_G4_T6.5"
    demo = load_plan(Path(__file__).parents[2] / "capture_plans" / "demo.yaml")
    assert take_id(7, demo, {"bass": 5, "middle": 2, "treble": 8, "gain": 4}) == "t0007_B5_M2_T8_G4"


def test_reference_count_and_bytes(tiny_plan):
    plan = load_plan(tiny_plan)
    assert reference_count(plan, 0) == 0
    assert reference_count(plan, 5) == 2
    plan.settings.reference_every = 2
    assert reference_count(plan, 5) == 4  # start, after 2, after 4, end
    per_take = bytes_per_take(plan)
    samples = (0.1 + 1.0 + 0.1 + 2 * 2 * 0.1) * 48000
    assert 3 * samples * 4 <= per_take <= 3 * samples * 4 + 3 * 8192
    assert needed_bytes(plan, 5) >= 9 * per_take


def test_disk_check_refuses_a_run_that_cannot_fit(tiny_plan, tmp_path):
    plan = load_plan(tiny_plan)
    plan.settings.count = 10**5
    plan.take.seconds = 3600
    with pytest.raises(UserError, match="not enough free disk"):
        check_disk(plan, tmp_path / "not" / "yet" / "there", 10**5)


def test_new_session_refuses_an_occupied_folder(tiny_plan, tmp_path):
    from rig.capture.preflight import prepare

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not an empty folder"):
        prepare(CaptureOptions(plan_file=tiny_plan, session=occupied))
    (occupied / "session.yaml").write_text("{}")
    with pytest.raises(UserError, match="--resume"):
        prepare(CaptureOptions(plan_file=tiny_plan, session=occupied))


def test_control_pause_resume_abort_emit_and_wake():
    seen = []
    control = CaptureControl(on_change=seen.append)
    control.set_state("running")
    control.pause()
    assert control.state == "paused"
    assert not control._resume.is_set()
    control.resume()
    assert control.state == "running"
    assert seen == ["paused", "resumed"]
    control.pause()
    control.abort()  # a paused run must wake up to stop
    assert control._resume.is_set()
    assert control.stopping
    assert control.state == "stopping"
    assert "dashboard" in control.stop_reason


def test_first_signal_requests_stop_second_aborts():
    control = CaptureControl()
    said = []
    with SignalGuard(control, said.append):
        os.kill(os.getpid(), signal.SIGTERM)
        assert control.stopping
        assert "SIGTERM" in control.stop_reason
        assert said
        with pytest.raises(Aborted):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
