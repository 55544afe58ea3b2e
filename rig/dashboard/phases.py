"""Which phase a session is in (capture -> training -> testing/export -> done, or aborted in
one of them) and a stopwatch per phase, folded from events.

Each stopwatch is anchored at the time of the event that last changed it: at `as_of` the
phase had run `active_s` seconds (paused time excluded) and `eta_s` were left. The page only
adds the time since `as_of` while the stopwatch runs, so nothing here depends on the clock."""

from __future__ import annotations

WORK_PHASES = ("capture", "training", "export")  # export shows as "testing/export"
TRAINER_EVENTS = ("train_started", "train_epoch", "train_test", "train_exported", "train_finished", "alert")


def _stopwatch(budget_s: float | None = None) -> dict:
    return {
        "state": "pending",
        "started_t": None,
        "ended_t": None,
        "as_of": None,
        "active_s": 0.0,
        "eta_s": None,
        "budget_s": budget_s,
        "rate_per_h": None,
    }


def _advance(w: dict, t: float | None) -> None:
    """Bring a running stopwatch up to `t`."""
    if w["state"] != "running" or t is None or w["as_of"] is None:
        return
    dt = max(0.0, t - w["as_of"])
    w["active_s"] = round(w["active_s"] + dt, 3)
    if w["eta_s"] is not None:
        w["eta_s"] = round(max(0.0, w["eta_s"] - dt), 3)
    w["as_of"] = t


def _run(w: dict, t: float | None) -> None:
    if w["state"] == "running":
        return
    w.update(state="running", as_of=t, ended_t=None)
    if w["started_t"] is None:
        w["started_t"] = t


def _stop(w: dict, t: float | None, state: str) -> None:
    _advance(w, t)
    w.update(state=state, ended_t=t)
    if state == "done":
        w["eta_s"] = 0.0
    elif state == "aborted":
        w["eta_s"] = None  # nothing is coming any more


class PhaseTracker:
    def __init__(self, plan: dict, estimate_s: float | None = None):
        self.plan = plan
        budget = plan.get("budget_minutes")
        self.training_budget_s = budget * 60.0 if budget else None
        self.estimate_s = estimate_s
        self.train_run = True  # False: the run said no trainer follows it (rig capture --no-train)
        self.view = {"name": "waiting", "aborted_in": None, "reason": None, **self._fresh_watches()}

    def _fresh_watches(self) -> dict:
        return {
            "capture": _stopwatch(self.estimate_s),
            "training": _stopwatch(self.training_budget_s),
            "export": _stopwatch(),
        }

    # ---- phase changes ----------------------------------------------------------------
    def _enter(self, name: str, t: float | None) -> None:
        current = self.view["name"]
        if current in WORK_PHASES and current != name:
            _stop(self.view[current], t, "done")
        self.view.update(name=name, aborted_in=None)
        if name in WORK_PHASES:
            watch = self.view[name]
            _run(watch, t)
            if name == "training" and watch["budget_s"] is not None:
                watch["eta_s"] = round(max(0.0, watch["budget_s"] - watch["active_s"]), 3)

    def trainer_stopped_alone(self, e: dict) -> bool:
        """The trainer's own `aborted` while the capture goes on: the run and its phase go on."""
        return e.get("type") == "aborted" and e.get("phase") == "training" and self.view["name"] == "capture"

    def _training_expected(self, state: dict) -> bool:
        models = state["training"]["models"].values()
        finished = sum(m["status"] == "finished" for m in models)
        expected = self.train_run and self.plan.get("train_auto", True) and self.plan.get("models")
        return bool(expected) and finished < len(self.plan["models"])

    # ---- events ----------------------------------------------------------------------
    def apply(self, e: dict, state: dict) -> None:
        if e.get("type") in TRAINER_EVENTS:
            self._apply_training(e, state)
        else:
            self._apply_capture(e, state)

    def _apply_capture(self, e: dict, state: dict) -> None:
        """Events of the capture run: its start, pauses, progress and end."""
        kind, t, name = e.get("type", ""), e.get("t"), self.view["name"]
        if kind == "run_started":
            self._start(e, state)
        elif kind in ("paused", "resumed") and name == "capture":
            self._pause_or_resume(kind, t)
        elif kind in ("progress", "take_recorded") and name == "capture":
            self._capture_eta(t, state["progress"])
        elif kind == "finished":
            self._after_work(t, state)
        elif kind == "aborted":
            self._abort(e)

    def _pause_or_resume(self, kind: str, t: float | None) -> None:
        watch = self.view["capture"]
        if kind == "paused" and watch["state"] == "running":
            _stop(watch, t, "paused")  # active time and ETA stand still until resumed
        elif kind == "resumed" and watch["state"] == "paused":
            watch.update(state="running", as_of=t, ended_t=None)

    def _apply_training(self, e: dict, state: dict) -> None:
        """Events of the trainer (train_*) and its alerts."""
        kind, t, name = e.get("type", ""), e.get("t"), self.view["name"]
        if kind == "train_started" and name not in ("capture", "training"):
            self._enter("training", t)
        elif kind == "train_epoch" and name == "training":
            _advance(self.view["training"], t)
        elif kind in ("train_test", "train_exported") and name in ("training", "export"):
            self._enter("export", t)
        elif kind == "train_finished" and name in ("training", "export"):
            self._after_work(t, state)
        elif kind == "alert" and e.get("kind") == "train_skipped" and name == "training":
            self._finish(t)
            self.view["reason"] = e.get("message")

    def _start(self, e: dict, state: dict) -> None:
        """A capture (re)starts: every stopwatch starts over."""
        if e.get("estimate_s") is not None:
            self.estimate_s = e["estimate_s"]
        self.train_run = e.get("train", True) is not False
        self.view.update(name="waiting", aborted_in=None, reason=None, **self._fresh_watches())
        p = state["progress"]  # its base_done is already this run's start
        self._enter("capture", e.get("t"))
        if self.estimate_s and p["total"]:
            self.view["capture"]["eta_s"] = round(self.estimate_s * (p["total"] - p["base_done"]) / p["total"], 1)

    def _capture_eta(self, t: float | None, p: dict) -> None:
        """Seconds per take measured on running time only, so a pause does not slow the ETA."""
        watch = self.view["capture"]
        _advance(watch, t)
        done_here = p["done"] - p["base_done"]
        if done_here > 0 and watch["active_s"] > 0:
            per_take = watch["active_s"] / done_here
            # unrounded: a fast run's ETA is a fraction of a second, and rounding made it 0 (done)
            watch["eta_s"] = max(0, p["total"] - p["done"]) * per_take
            watch["rate_per_h"] = round(3600 / per_take, 2)

    def _after_work(self, t: float | None, state: dict) -> None:
        """The capture or a model finished: train (the next model) or be done."""
        if self._training_expected(state):
            self._enter("training", t)
        else:
            self._finish(t)
            if not self.train_run and not state["training"]["models"]:
                self.view["reason"] = "not trained (no trainer ran: rig capture --no-train)"

    def _finish(self, t: float | None) -> None:
        current = self.view["name"]
        if current in WORK_PHASES:
            _stop(self.view[current], t, "done")
        self.view["name"] = "done"

    def _abort(self, e: dict) -> None:
        """Whoever stops writes `aborted`: the capture, or the trainer on SIGINT/SIGTERM. The
        phase it happened in is the one we are in (the trainer cannot tell test from train)."""
        name = self.view["name"]
        if name == "aborted":
            return  # e.g. the trainer stopped after the capture aborted: the first one counts
        if self.trainer_stopped_alone(e):
            _stop(self.view["training"], e.get("t"), "aborted")
            return
        where = name if name in WORK_PHASES else (e.get("phase") or "capture")
        if where == "testing/export":
            where = "export"
        if where in WORK_PHASES:
            _stop(self.view[where], e.get("t"), "aborted")
        self.view.update(name="aborted", aborted_in=where, reason=e.get("reason"))
