"""The dashboard's view of a session, folded from session.yaml, manifest.jsonl and
events.jsonl. The page applies the same fold to live events (static/state.js), so the two
must keep one shape (described in rig/dashboard/README.md)."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from rig.session import EVENTS_FILE, MANIFEST_FILE, Session, read_events
from rig.session.jsonl import read_jsonl

MAX_ALERTS = 200  # older alerts only matter as counts
RUN_STATES = {"run_started": "running", "resumed": "running", "paused": "paused",
              "finished": "finished", "aborted": "aborted"}


def qc_verdict(qc) -> tuple[str, list[str]]:
    """pass | warn | fail from a take's qc record (a dict with ok/reasons, or a word)."""
    if isinstance(qc, str):
        return qc, []
    if not isinstance(qc, dict):
        return "pass", []
    reasons = [str(r) for r in qc.get("reasons") or []]
    if qc.get("ok", True) is False:
        return "fail", reasons
    return ("warn" if reasons else "pass"), reasons


class StateBuilder:
    """Folds events one at a time into a JSON-ready dict (see `snapshot`)."""

    def __init__(self, info: dict, name: str):
        plan = info.get("plan") or {}
        self.sample_rate = (plan.get("audio") or {}).get("sample_rate", 48000)
        self.knob_names = [k["name"] for k in plan.get("knobs", [])]
        self.state = {
            "session": {"name": name, "created": info.get("created"), "plan_hash": info.get("plan_hash"),
                        "versions": info.get("versions", {})},
            "device": plan.get("device", {}),
            "plan": _plan_summary(info, plan, self.sample_rate),
            "knobs": [_knob_summary(k) for k in plan.get("knobs", [])],
            "settings": [{"id": s["id"], "split": s["split"], "v": [s["values"].get(n) for n in self.knob_names]}
                         for s in info.get("settings", [])],
            "route": list(info.get("route", [])),
            "progress": {"done": 0, "total": len(info.get("route", [])), "started_t": None, "base_done": 0,
                         "last_take_t": None, "eta_s": None, "eta_t": None, "failed": 0},
            "current": {"setting_id": None, "knobs": {}, "robot": None, "t": None},
            "levels": None,
            "takes": [],
            "alerts": [],
            "alert_counts": {"info": 0, "warning": 0, "error": 0},
            "training": {"models": {}, "active": None},
            "run": {"state": "waiting", "reason": None, "t": None},
        }
        self._done_ids: set[int] = set()
        self._rows: dict[str, dict] = {}
        self.committed: set[str] = set()  # take ids the manifest lists: their audio may be served

    # ---- events --------------------------------------------------------------------
    def apply(self, event: dict) -> None:
        kind = event.get("type", "")
        handler = getattr(self, "_on_" + kind, None)
        if kind in RUN_STATES:
            self.state["run"].update(state=RUN_STATES[kind], t=event.get("t"))
        if handler:
            handler(event)
        elif kind.startswith("train_"):
            self._on_train(event)

    def _on_run_started(self, e: dict) -> None:
        p = self.state["progress"]
        p.update(started_t=e.get("t"), base_done=p["done"], total=e.get("total") or p["total"], last_take_t=None)
        if e.get("route"):
            self.state["route"] = list(e["route"])
        if e.get("plan_name"):
            self.state["plan"]["name"] = e["plan_name"]
        self.state["run"]["reason"] = None

    def _on_robot(self, e: dict) -> None:
        cur = self.state["current"]
        cur["robot"] = e.get("state")
        if e.get("knobs"):
            cur["knobs"] = e["knobs"]

    def _on_moved(self, e: dict) -> None:
        self.state["current"].update(setting_id=e.get("setting_id"), knobs=e.get("knobs") or {}, t=e.get("t"))

    def _on_levels(self, e: dict) -> None:
        old = self.state["levels"] or {"clip_t": {}, "clip_count": {}}
        clip_t, clip_count = dict(old["clip_t"]), dict(old["clip_count"])
        for channel, hit in (e.get("clipped") or {}).items():
            if hit:
                clip_t[channel] = e.get("t")
                clip_count[channel] = clip_count.get(channel, 0) + 1
        self.state["levels"] = {k: e.get(k) for k in ("send_dbfs", "loopback_dbfs", "return_dbfs", "t")}
        self.state["levels"].update(clipped=e.get("clipped") or {}, clip_t=clip_t, clip_count=clip_count)

    def _on_take_recorded(self, e: dict) -> None:
        self._add_take(self._take_row(e, audio=e.get("take_id") in self.committed))

    def _on_take_failed(self, e: dict) -> None:
        self.state["progress"]["failed"] += 1

    def _on_progress(self, e: dict) -> None:
        p = self.state["progress"]
        p.update(done=e.get("done", p["done"]), total=e.get("total") or p["total"],
                 eta_s=e.get("eta_s"), eta_t=e.get("t"))

    def _on_finished(self, e: dict) -> None:
        p = self.state["progress"]
        p.update(done=e.get("done", p["done"]), total=e.get("total") or p["total"], eta_s=0, eta_t=e.get("t"))

    def _on_aborted(self, e: dict) -> None:
        self.state["run"]["reason"] = e.get("reason")

    def _on_alert(self, e: dict) -> None:
        level = e.get("level", "info")
        counts = self.state["alert_counts"]
        counts[level] = counts.get(level, 0) + 1
        alerts = self.state["alerts"]
        alerts.append({k: e.get(k) for k in ("t", "level", "kind", "message")})
        del alerts[:-MAX_ALERTS]

    def _on_train(self, e: dict) -> None:
        training = self.state["training"]
        name = e.get("model") or "model"
        model = training["models"].setdefault(name, _new_model(name))
        training["active"] = name
        kind = e["type"]
        if kind == "train_started":
            model.update(params=e.get("params"), status="training")
        elif kind == "train_epoch":
            for key, field in (("epoch", "epoch"), ("train", "train_loss"), ("val", "val_loss"),
                               ("val_esr", "val_esr"), ("lr", "lr")):
                model[key].append(e.get(field))
            model["takes_used"] = e.get("takes_used", model["takes_used"])
        elif kind == "train_test":
            model.update(test_esr=e.get("esr"), per_setting=e.get("per_setting") or [], status="tested")
        elif kind == "train_exported":
            model.update(exported=list(e.get("files") or []), status="exported")
        elif kind == "train_finished":
            model.update(best_val_loss=e.get("best_val_loss"), status="finished")
            if e.get("test_esr") is not None:
                model["test_esr"] = e["test_esr"]

    # ---- takes -----------------------------------------------------------------------
    def _take_row(self, r: dict, audio: bool) -> dict:
        verdict, reasons = qc_verdict(r.get("qc"))
        latency = r.get("latency_samples")
        snr = r.get("snr_db", (r.get("qc") or {}).get("snr_db") if isinstance(r.get("qc"), dict) else None)
        return {
            "take_id": r.get("take_id"), "setting_id": r.get("setting_id"), "index": r.get("index"),
            "split": r.get("split"), "knobs": r.get("knobs") or {},
            "latency_ms": None if latency is None else round(latency * 1000 / self.sample_rate, 3),
            "snr_db": snr, "retries": r.get("retries", 0), "qc": verdict, "qc_reasons": reasons,
            "t": r.get("t"), "audio": audio,
        }

    def _add_take(self, row: dict) -> None:
        old = self._rows.get(row["take_id"])
        if old is not None:  # the manifest came first: the event adds snr and time
            old.update({k: v for k, v in row.items() if v is not None}, audio=old["audio"] or row["audio"])
            return
        self._rows[row["take_id"]] = row
        self.state["takes"].append(row)
        p = self.state["progress"]
        p["last_take_t"] = row["t"] or p["last_take_t"]
        if row["split"] != "reference" and row["setting_id"] is not None:
            self._done_ids.add(row["setting_id"])
            p["done"] = max(p["done"], len(self._done_ids))

    def add_manifest(self, records: list[dict]) -> None:
        """Committed takes: their audio can be served. Adds takes whose event was lost."""
        for r in records:
            self.committed.add(r.get("take_id"))
            if r.get("take_id") in self._rows:
                self._rows[r["take_id"]]["audio"] = True
            else:
                self._add_take(self._take_row({**r, "t": _iso_to_unix(r.get("recorded_at"))}, audio=True))

    def snapshot(self, now: float) -> dict:
        p, run = self.state["progress"], self.state["run"]
        end = run["t"] if run["state"] in ("finished", "aborted") and run["t"] else now
        elapsed = end - p["started_t"] if p["started_t"] else None
        took = (p["last_take_t"] or 0) - (p["started_t"] or 0)
        rate = (p["done"] - p["base_done"]) * 3600 / took if p["started_t"] and took > 0 else None
        return {**self.state, "now": now, "derived": {"elapsed_s": elapsed, "rate_per_h": rate}}


def _plan_summary(info: dict, plan: dict, sample_rate: int) -> dict:
    counts: dict[str, int] = {}
    for s in info.get("settings", []):
        counts[s["split"]] = counts.get(s["split"], 0) + 1
    plan_file = info.get("plan_file")
    return {
        "name": Path(plan_file).stem if plan_file else None,
        "file": plan_file,
        "take_seconds": (plan.get("take") or {}).get("seconds"),
        "splits": counts,
        "models": (plan.get("train") or {}).get("models", []),
        "budget_minutes": (plan.get("train") or {}).get("budget_minutes"),
        "sample_rate": sample_rate,
        "interface": (plan.get("audio") or {}).get("interface"),
    }


def _knob_summary(k: dict) -> dict:
    keys = ("name", "label", "min", "max", "rotation_deg", "fixed", "detents")
    return {key: k.get(key) for key in keys} | {"rotation_deg": k.get("rotation_deg", 300.0)}


def _new_model(name: str) -> dict:
    return {"name": name, "params": None, "status": "waiting", "epoch": [], "train": [], "val": [],
            "val_esr": [], "lr": [], "takes_used": None, "test_esr": None, "per_setting": [],
            "exported": [], "best_val_loss": None}


def _iso_to_unix(text) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


class SessionFollower:
    """One shared, incrementally updated state per app: each request folds only the lines
    appended since the last one, so a long log is parsed once, not per page load."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        session = Session.open(self.folder)
        self._builder = StateBuilder(session.info, self.folder.name)
        self._events_offset = 0
        self._manifest_offset = 0
        self._lock = threading.Lock()
        self._catch_up()  # at start-up, so the first page load only folds what came since

    def take_ids(self) -> set[str]:
        with self._lock:
            self._catch_up()
            return set(self._builder.committed)

    def snapshot(self) -> dict:
        with self._lock:
            self._catch_up()
            return {**self._builder.snapshot(time.time()), "cursor": self._events_offset}

    def _catch_up(self) -> None:
        # Manifest first: a take's line is appended before its take_recorded event.
        records, self._manifest_offset = read_jsonl(self.folder / MANIFEST_FILE, self._manifest_offset)
        events, self._events_offset = read_events(self.folder / EVENTS_FILE, self._events_offset)
        for event in events:
            self._builder.apply(event)
        self._builder.add_manifest(records)
