"""Reliability on the simulated rig (robot simulator + virtual device, real processes):
SIGKILL at random moments then resume; robot and audio faults during a run."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rig.session import SESSION_FILE, Session, read_events, read_manifest
from tests.capture.helpers import rig_cmd, rig_run, sim_options, write_plan

KILLS = int(os.environ.get("RIG_CAPTURE_KILLS", "8"))  # the 20: RIG_CAPTURE_KILLS=20
CAPTURE = ("--sim", "--no-train", "--no-dashboard", "--quiet")


def capture_args(plan: Path, folder: Path) -> list[str]:
    if (folder / SESSION_FILE).exists():
        return ["capture", "--resume", str(folder), *CAPTURE]
    return ["capture", "--plan", str(plan), "--session", str(folder), *CAPTURE]


def assert_complete(folder: Path) -> None:
    session = Session.open(folder)
    takes = [r for r in read_manifest(folder) if r["split"] != "reference"]
    ids = [r["setting_id"] for r in takes]
    assert sorted(ids) == sorted(s.id for s in session.settings()), "every setting exactly once"
    assert len({r["take_id"] for r in read_manifest(folder)}) == len(read_manifest(folder))
    assert session.verify() == []
    listed = {f for r in read_manifest(folder) for f in r["files"].values()}
    on_disk = {str(p.relative_to(folder)) for p in (folder / "takes").iterdir()}
    assert on_disk == listed, "no partial or unlisted file"


def test_sigkill_at_random_moments_then_resume(tmp_path):
    plan = write_plan(tmp_path, count=2 * KILLS, seconds=1.0)
    folder = tmp_path / "session"
    rng = random.Random(7)
    startup, per_take = probe_timing(plan, tmp_path / "probe")
    kills = []
    for _ in range(KILLS):
        proc = rig_cmd(*capture_args(plan, folder))
        # Anywhere from mid start-up to a few takes in: each run adds a take or two, so
        # the kills land in every phase (opening, homing, recording, writing, committing).
        delay = rng.uniform(0.5 * startup, startup + 3 * per_take)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            helpers = children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            reap(helpers)
        kills.append((round(delay, 2), proc.returncode, len(read_manifest(folder))))
        proc.stdout.close()
        proc.stderr.close()
    final = rig_run(*capture_args(plan, folder))
    assert final.returncode == 0, final.stderr
    print("kills (delay s, status, manifest lines):", kills)
    assert sum(1 for k in kills if k[1] == -signal.SIGKILL) >= KILLS - 1  # they really were killed
    assert_complete(folder)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def reap(pids: list[int]) -> None:
    """The robot simulator outlives a SIGKILLed capture (rig.knobs does not tie it to its
    parent); end the ones this test started so they do not pile up."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def probe_timing(plan: Path, folder: Path) -> tuple[float, float]:
    """Seconds from launch to the first take, and per take after that, on this machine now."""
    t0 = time.time()
    assert rig_run(*capture_args(plan, folder)).returncode == 0
    stamps = [e["t"] for e in read_events(folder)[0] if e["type"] == "take_recorded"]
    return stamps[0] - t0, (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1)


def test_robot_and_audio_faults_still_store_only_verified_takes(tmp_path):
    from rig.capture import run_capture

    plan = write_plan(tmp_path, count=5, seconds=1.0)
    folder = tmp_path / "session"
    # Recording numbers: 0 is the start reference; xrun on the second setting, silence on the fourth.
    opts = sim_options(
        plan, folder, robot_faults={"corrupt": 0.003, "reset_after_steps": 6000}, audio_faults={2: "xrun", 4: "silent"}
    )
    assert run_capture(opts) == 0
    assert_complete(folder)
    events = read_events(folder)[0]
    reasons = [e["reason"] for e in events if e["type"] == "take_failed"]
    assert any("xrun" in r for r in reasons)
    assert any("silent" in r for r in reasons)
    assert max(e.get("recoveries", 0) for e in events if e["type"] == "moved") >= 1, "the MCU reset happened"
    plan_obj = Session.open(folder).plan()
    from rig.capture.takes import knob_tolerance

    for rec in read_manifest(folder):
        for k in plan_obj.knobs:
            assert abs(rec["knobs_actual"][k.name] - rec["knobs"][k.name]) <= knob_tolerance(plan_obj, k), rec[
                "take_id"
            ]


def wait_for_takes(folder: Path, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(read_manifest(folder)) < n:
        assert time.monotonic() < deadline, "capture did not get going"
        time.sleep(0.05)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_leaves_a_resumable_session(tmp_path, presses):
    plan = write_plan(tmp_path, count=8, seconds=1.0)
    folder = tmp_path / "session"
    proc = rig_cmd(*capture_args(plan, folder))
    wait_for_takes(folder, 2)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"rig capture --resume {folder}" in err
    ends = [e for e in read_events(folder)[0] if e["type"] == "aborted"]
    assert ends
    assert ("second" in ends[-1]["reason"]) == (presses == 2)
    assert Session.open(folder).verify() == []
    final = rig_run(*capture_args(plan, folder))
    assert final.returncode == 0, final.stderr
    assert_complete(folder)


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("jackd"), reason="jackd (apt-get install jackd2) is not installed")
def test_jack_audio_path(tmp_path):
    """--sim --jack: private jackd (dummy), the device as a JACK client process, PortAudio.
    The promise on any machine: a take hit by an xrun is refused and re-recorded, never kept,
    so the session completes with only clean takes. How often a loaded machine misses a period
    is a figure for `rig bench capture --jack`, not a pass condition: a jitter probe taken
    before the run cannot promise the load during it. A machine that stalls real-time threads
    longer than the JACK period allows is measured first and skipped as such, never retried
    until lucky."""
    from rig.audio.realtime import holds_period, measure_jitter
    from rig.capture.jackpath import PERIOD

    period_ms = PERIOD / 48.0
    jitter = measure_jitter()
    if not holds_period(jitter, period_ms):
        pytest.skip(
            f"this machine cannot hold real time (real-time scheduling: {jitter['realtime']}, "
            f"a real-time thread stalled {jitter['worst_ms']} ms; the {period_ms:.1f} ms JACK period "
            "needs under half that): not a regression"
        )
    plan = write_plan(tmp_path, count=3, seconds=1.0, retries=6)
    folder = tmp_path / "session"
    result = rig_run(
        "capture", "--plan", str(plan), "--session", str(folder), "--sim", "--jack", *CAPTURE[1:], timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert_complete(folder)
    records = read_manifest(folder)
    latencies = [r["latency_samples"] for r in records]
    assert len(set(latencies)) == 1, f"JACK latency is fixed, got {latencies}"
    assert "JACK" in Session.open(folder).info["rig"]["interface"]
    assert all(r["qc"]["xruns"] == 0 for r in records), "a take with an xrun was kept"
