"""Follow mode: training starts while takes still arrive, adds them at epoch boundaries,
stops following at the capture's end, and exits cleanly when a capture aborts early."""

from __future__ import annotations

import threading
import time

from rig.session import EventLog, Session
from rig.train.capture_follower import CaptureFollower
from rig.train.testing import commit_take, make_session, synthetic_plan
from rig.train.trainer import TrainingRun

from .conftest import events, quick_options, tiny_config


def _capture(session: Session, settings, delay: float, end: str = "finished") -> None:
    log = EventLog(session.folder / "events.jsonl")
    log.emit("run_started", total=len(settings))
    for i, setting in enumerate(settings):
        commit_take(session, setting, i)
        log.emit("take_recorded", setting_id=setting.id, index=i)
        time.sleep(delay)
    log.emit(end, **({"done": len(settings), "total": len(settings)} if end == "finished" else {"reason": "test"}))


def test_follow_trains_during_capture_and_uses_every_take(tmp_path):
    plan = synthetic_plan(count=8, test_count=2, validation_fraction=0.25, min_takes=2)
    session = make_session(tmp_path / "s", plan, commit=False)
    settings = session.settings()
    seen = set()
    writer = threading.Thread(target=_capture, args=(session, settings, 0.4))
    writer.start()
    opts = quick_options(
        follow=True,
        poll_s=0.05,
        max_epochs=None,
        patience=2,
        budget_minutes=0.03,
        export=False,
        report=False,
        on_batch=lambda _split, ids: seen.update(ids),
    )
    result = TrainingRun(session.folder, tiny_config("tcn"), opts).run()
    writer.join()

    assert result.status == "finished"
    manifest_times = [e["t"] for e in events(session.folder, "take_recorded")]
    started = events(session.folder, "train_started")[0]["t"]
    assert started < manifest_times[-1]  # training began before the capture was done
    used = [t for e in events(session.folder, "train_takes_used") for t in e["takes"]]
    fit_takes = {r["take_id"] for r in session.manifest() if r["split"] in ("train", "val")}
    assert {t["take_id"] for t in used} == fit_takes == seen
    assert all(0 <= t["latency_s"] < 30 for t in used)
    assert not {r["take_id"] for r in session.manifest() if r["split"] == "test"} & seen
    assert events(session.folder, "train_finished")


def test_capture_aborted_with_too_few_takes_exits_cleanly(tmp_path):
    plan = synthetic_plan(count=8, test_count=2, min_takes=4)
    session = make_session(tmp_path / "s", plan, commit=False)
    first = [s for s in session.settings() if s.split == "train"][:1]
    _capture(session, first, 0.0, end="aborted")
    result = TrainingRun(session.folder, tiny_config("tcn"), quick_options(follow=True, poll_s=0.01)).run()
    assert result.status == "skipped"
    assert "fewer than the 4 needed" in result.message
    assert [e["kind"] for e in events(session.folder, "alert")] == ["train_skipped"]
    assert not (session.folder / "train" / "tiny-tcn" / "best.pt").exists()


def test_follower_sees_end_resume_and_silence(tmp_path):
    session = make_session(tmp_path / "s", synthetic_plan(), commit=False)
    log = EventLog(session.folder / "events.jsonl")
    follower = CaptureFollower(session.folder, follow=True, idle_timeout_s=60)
    follower.poll()
    assert not follower.ended
    log.emit("aborted", reason="user")
    follower.poll()
    assert follower.ended
    assert follower.aborted
    log.emit("run_started")  # capture --resume
    follower.poll()
    assert not follower.ended
    follower.idle_timeout_s, follower.last_news = 0.0, time.time() - 1
    follower.poll()
    assert follower.state == "silent"
    assert CaptureFollower(session.folder, follow=False).ended
