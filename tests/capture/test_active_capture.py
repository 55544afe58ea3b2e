"""Active capture (settings.method: active) on the simulated rig, real captures: the test
settings first and never trained on, fallbacks when no proposal comes, a proposer's batches
recorded as proposed, torn proposals never consumed, and each batch accepted exactly once
across SIGKILLs."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import numpy as np

from rig.capture.run import run_capture
from rig.session import Session, read_events
from rig.session.proposals import accepted_batches, accepted_path, accepted_problems, proposal_path, write_proposal
from tests.capture.active_helpers import accepted_ids, held_out_values, recorded, write_active_plan
from tests.capture.helpers import rig_cmd, rig_run, sim_options
from tests.capture.test_capture_reliability import children, reap

CAPTURE = ("--sim", "--no-train", "--no-dashboard", "--quiet")


def alerts(folder: Path, kind: str) -> list[dict]:
    return [e for e in read_events(folder)[0] if e["type"] == "alert" and e["kind"] == kind]


def assert_held_out(folder: Path) -> None:
    """Test takes come first, and no train/val take is within min_distance of a test setting."""
    takes = recorded(folder)
    splits = [r["split"] for r in takes]
    n_test = splits.count("test")
    assert n_test == len(held_out_values(folder))
    assert splits[:n_test] == ["test"] * n_test
    tests = np.array([[t["gain"], t["treble"]] for t in held_out_values(folder)]) / 10
    for r in takes[n_test:]:
        point = np.array([r["knobs"]["gain"], r["knobs"]["treble"]]) / 10
        assert np.min(np.linalg.norm(tests - point, axis=1)) >= 0.1, r["take_id"]


def assert_each_once(folder: Path, budget: int) -> None:
    """Every accepted batch once, every setting (static and accepted) recorded exactly once."""
    lines = [json.loads(x) for x in accepted_path(folder).read_bytes().splitlines() if x.strip()]
    numbers = [x["batch"] for x in lines]
    assert numbers == sorted(set(numbers)), f"a batch accepted twice: {numbers}"
    ids = [r["setting_id"] for r in recorded(folder)]
    assert len(ids) == len(set(ids)), "a setting recorded twice"
    static = [s.id for s in Session.open(folder).settings()]
    assert sorted(ids) == sorted(static + accepted_ids(folder))
    assert len(ids) == budget + len(held_out_values(folder))
    assert Session.open(folder).verify() == []
    assert accepted_problems(folder) == []


def test_without_a_proposer_the_budget_is_reached_by_fallbacks(tmp_path):
    plan = write_active_plan(tmp_path, budget=7, timeout=0.3)
    folder = tmp_path / "s"
    assert run_capture(sim_options(plan, folder)) == 0
    assert [b.source for b in accepted_batches(folder)] == ["fallback", "fallback"]
    assert [a["batch"] for a in alerts(folder, "proposal_timeout")] == [1, 2]
    assert_held_out(folder)
    assert_each_once(folder, budget=7)
    events = read_events(folder)[0]
    waits = [e for e in events if e["type"] == "waiting"]
    assert [w["batch"] for w in waits] == [1, 2]
    assert waits[0]["what"] == "proposal"
    assert events[-1]["type"] == "finished"
    assert events[-1]["total"] == 9


def proposer(folder: Path, batches: dict[int, list[dict]], stop: threading.Event) -> None:
    """The trainer's side, by hand: propose batch n once batch n-1 is accepted."""
    while not (folder / "session.yaml").exists() and not stop.is_set():
        time.sleep(0.02)
    for n, settings in sorted(batches.items()):
        while n > 1 and len(accepted_batches(folder)) < n - 1 and not stop.is_set():
            time.sleep(0.02)
        write_proposal(folder, n, settings, based_on_takes=len(recorded(folder)), signal="by hand")


def test_a_proposer_s_batches_are_recorded_as_proposed(tmp_path):
    plan = write_active_plan(tmp_path, budget=7, timeout=300)  # a proposal comes in ms; slack for slow machines
    folder = tmp_path / "s"
    test = [{"gain": 3.3, "treble": 7.7}]  # the plan's first test setting: must never be accepted
    batches = {
        1: [{"gain": 1.0, "treble": 1.0}, {"gain": 9.0, "treble": 9.0}],
        2: [*test, {"gain": 12.0, "treble": 5.0}, {"gain": 5.0, "treble": 9.5}, {"gain": 5.0, "treble": 0.5}],
    }
    stop = threading.Event()
    thread = threading.Thread(target=proposer, args=(folder, batches, stop), daemon=True)
    thread.start()
    try:
        assert run_capture(sim_options(plan, folder)) == 0
    finally:
        stop.set()
        thread.join(5)
    got = {b.batch: [(s.values["gain"], s.values["treble"]) for s in b.settings] for b in accepted_batches(folder)}
    assert got == {1: [(1.0, 1.0), (9.0, 9.0)], 2: [(5.0, 9.5), (5.0, 0.5)]}
    assert all(
        b.source == "trainer" and {s.origin for s in b.settings} == {"trainer"} for b in accepted_batches(folder)
    )
    assert not alerts(folder, "proposal_timeout")
    assert len(alerts(folder, "proposal_filtered")) == 1  # the test setting and the out-of-range one
    by_id = {r["setting_id"]: (r["knobs"]["gain"], r["knobs"]["treble"]) for r in recorded(folder)}
    for b in accepted_batches(folder):
        assert [by_id[s.id] for s in b.settings] == got[b.batch]
    assert_held_out(folder)
    assert_each_once(folder, budget=7)


def test_a_torn_proposal_is_never_consumed(tmp_path):
    plan = write_active_plan(tmp_path, budget=7, timeout=0.5)
    folder = tmp_path / "s"
    torn_values = {"gain": 1.5, "treble": 4.5}
    whole = json.dumps({"batch": 1, "settings": [{"values": torn_values, "score": 1}] * 2}).encode()

    def tear() -> None:  # a writer that wrote in place and died half way
        while not (folder / "session.yaml").exists():
            time.sleep(0.02)
        proposal_path(folder, 1).parent.mkdir(exist_ok=True)
        proposal_path(folder, 1).write_bytes(whole[: len(whole) - 20])

    thread = threading.Thread(target=tear, daemon=True)
    thread.start()
    assert run_capture(sim_options(plan, folder)) == 0
    thread.join(5)
    first = accepted_batches(folder)[0]
    assert first.source == "fallback"
    assert "not complete JSON" in alerts(folder, "proposal_timeout")[0]["message"]
    assert all((r["knobs"]["gain"], r["knobs"]["treble"]) != (1.5, 4.5) for r in recorded(folder))
    assert_each_once(folder, budget=7)


def capture_args(plan: Path, folder: Path) -> list[str]:
    if (folder / "session.yaml").exists():
        return ["capture", "--resume", str(folder), *CAPTURE]
    return ["capture", "--plan", str(plan), "--session", str(folder), *CAPTURE]


def kill_after_acceptance(plan: Path, folder: Path, batches: int, limit_s: float = 60) -> tuple[int, int]:
    """Run a capture and SIGKILL it the moment `batches` batches are accepted; its status and
    how many accepted settings were not recorded yet."""
    proc = rig_cmd(*capture_args(plan, folder))
    deadline = time.monotonic() + limit_s
    try:
        while len(accepted_batches(folder)) < batches and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        helpers = children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reap(helpers)
    finally:
        proc.stdout.close()
        proc.stderr.close()
    done = {r["setting_id"] for r in recorded(folder)}
    return proc.returncode, len(set(accepted_ids(folder)) - done)


def test_each_batch_is_accepted_once_across_sigkill(tmp_path):
    plan = write_active_plan(tmp_path, budget=9, timeout=0.3)  # 2 initial, 2 val, 3 batches of 2 (last 1)
    folder = tmp_path / "s"
    kills = [kill_after_acceptance(plan, folder, n) for n in (1, 2)]
    assert [status for status, _ in kills] == [-signal.SIGKILL] * 2
    # killed right after accepting: that batch is not (all) recorded yet, and must not be accepted again
    assert all(pending > 0 for _, pending in kills), kills
    assert [b.batch for b in accepted_batches(folder)] == [1, 2]
    final = rig_run(*capture_args(plan, folder))
    assert final.returncode == 0, final.stderr
    assert [b.batch for b in accepted_batches(folder)] == [1, 2, 3]
    told = [e["batch"] for e in read_events(folder)[0] if e["type"] == "batch_accepted"]
    assert sorted(set(told)) == [1, 2, 3], told  # an event lost to the kill is emitted again by resume
    assert_held_out(folder)
    assert_each_once(folder, budget=9)


def test_resume_after_a_stop_while_waiting(tmp_path):
    """Ctrl-C (here: the control's stop) while waiting for a proposal stops at once, and
    --resume goes on waiting for the same batch."""
    from rig.capture.preflight import prepare
    from rig.capture.run import EXIT_INTERRUPTED, CaptureRun

    plan = write_active_plan(tmp_path, budget=7, timeout=600)
    folder = tmp_path / "s"
    opts = sim_options(plan, folder)
    run = CaptureRun(prepare(opts), opts)

    def stop_when_waiting() -> None:
        while not any(e["type"] == "waiting" for e in read_events(folder)[0]):
            time.sleep(0.02)
        run.control.request_stop("interrupted (Ctrl-C)")

    threading.Thread(target=stop_when_waiting, daemon=True).start()
    t0 = time.monotonic()
    assert run.execute() == EXIT_INTERRUPTED
    assert time.monotonic() - t0 < 300  # not the 600 s timeout
    assert accepted_batches(folder) == []
    write_proposal(folder, 1, [{"gain": 1.0, "treble": 1.0}, {"gain": 9.0, "treble": 9.0}])
    write_proposal(folder, 2, [{"gain": 5.0, "treble": 9.5}, {"gain": 5.0, "treble": 0.5}])
    assert run_capture(sim_options(resume=folder)) == 0
    assert [b.source for b in accepted_batches(folder)] == ["trainer", "trainer"]
    assert_each_once(folder, budget=7)


def test_a_batch_is_routed_from_where_the_robot_is(tmp_path):
    from rig import route as routing
    from rig.plan import Setting, load_plan

    plan = load_plan(write_active_plan(tmp_path))
    corners = [(0.0, 0.0), (10.0, 10.0), (0.0, 10.0), (10.0, 0.0)]
    settings = [Setting(i, {"gain": g, "treble": t, "volume": 5.0}, "train") for i, (g, t) in enumerate(corners)]
    for i, (g, t) in enumerate(corners):
        start = {"gain": g, "treble": t, "volume": 5.0}
        assert routing.plan_route(plan, settings, start=start).order[0] == i  # nothing to move for the first
