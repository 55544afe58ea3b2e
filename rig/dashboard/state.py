"""The dashboard's view of a session, folded from session.yaml, manifest.jsonl and
events.jsonl. This is the only fold: the page receives changed top-level keys of this view
(see `SessionFollower.encoded` and app.py) and merges them without interpreting events.
The shape is described in rig/dashboard/README.md."""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from rig.dashboard.phases import PhaseTracker
from rig.session import EVENTS_FILE, MANIFEST_FILE, TRAIN_DIR, Session, read_events
from rig.session.jsonl import read_jsonl
from rig.session.manifest import is_retraction, is_take_record, parse_line

MAX_ALERTS = 200  # older alerts only matter as counts
KEEP_REVISIONS = 16  # encoded revisions kept, so a page that connects a little late gets a diff
LIST_KEYS = ("takes", "alerts")  # pushed as appends when only new rows came
RUN_STATES = {
    "run_started": "running",
    "resumed": "running",
    "paused": "paused",
    "finished": "finished",
    "aborted": "aborted",
}


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
    """Folds events one at a time into a JSON-ready dict (`state`)."""

    def __init__(self, info: dict, name: str, folder: Path | None = None):
        self.folder = folder
        plan = info.get("plan") or {}
        self.sample_rate = (plan.get("audio") or {}).get("sample_rate", 48000)
        self.knob_names = [k["name"] for k in plan.get("knobs", [])]
        summary = _plan_summary(info, plan, self.sample_rate)
        self.phases = PhaseTracker(summary, estimate_s=info.get("estimate_s"))
        self.state = {
            "session": {
                "name": name,
                "created": info.get("created"),
                "plan_hash": info.get("plan_hash"),
                "versions": info.get("versions", {}),
            },
            "device": plan.get("device", {}),
            "plan": summary,
            "knobs": [_knob_summary(k) for k in plan.get("knobs", [])],
            "settings": [
                {"id": s["id"], "split": s["split"], "v": [s["values"].get(n) for n in self.knob_names]}
                for s in info.get("settings", [])
            ],
            "route": list(info.get("route", [])),
            "progress": {"done": 0, "total": len(info.get("route", [])), "base_done": 0, "failed": 0},
            "current": {"setting_id": None, "knobs": {}, "robot": None, "t": None},
            "levels": None,
            "takes": [],
            "alerts": [],
            "alert_counts": {"info": 0, "warning": 0, "error": 0},
            "training": {"models": {}, "active": None},
            "run": {"state": "waiting", "reason": None, "t": None},
            "phase": self.phases.view,
            "active": _active_summary(plan),
        }
        self._done_ids: set[int] = set()
        self._rows: dict[str, dict] = {}
        self._last_levels: dict | None = None  # the take being recorded gets these figures
        self.committed: set[str] = set()  # take ids the manifest lists: their audio may be served

    # ---- events --------------------------------------------------------------------
    def apply(self, event: dict) -> None:
        kind = event.get("type", "")
        handler = getattr(self, "_on_" + kind, None)
        if kind in RUN_STATES and not self.phases.trainer_stopped_alone(event):
            self.state["run"].update(state=RUN_STATES[kind], t=event.get("t"))
        if handler:
            handler(event)
        elif kind.startswith("train_"):
            self._on_train(event)
        self.phases.apply(event, self.state)

    def _on_run_started(self, e: dict) -> None:
        p = self.state["progress"]
        # The capture's own count, not ours: ours depends on how much of the manifest was read
        # yet (a cold fold reads it after all events). Logs without it: what we counted.
        base_done = e.get("done")
        p.update(base_done=p["done"] if base_done is None else base_done, total=e.get("total") or p["total"])
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
        levels = {k: e.get(k) for k in ("send_dbfs", "loopback_dbfs", "return_dbfs", "t")}
        self.state["levels"] = levels | {"clipped": e.get("clipped") or {}, "clip_t": clip_t, "clip_count": clip_count}
        self._last_levels = levels

    def _on_take_recorded(self, e: dict) -> None:
        row = self._take_row(e, audio=e.get("take_id") in self.committed)
        if self._last_levels:
            row.update(send_dbfs=self._last_levels["send_dbfs"], return_dbfs=self._last_levels["return_dbfs"])
        self._add_take(row)

    def _on_take_failed(self, _e: dict) -> None:
        self.state["progress"]["failed"] += 1

    def _on_progress(self, e: dict) -> None:
        p = self.state["progress"]
        p.update(done=e.get("done", p["done"]), total=e.get("total") or p["total"])

    _on_finished = _on_progress  # it carries the final count

    def _on_aborted(self, e: dict) -> None:
        if not self.phases.trainer_stopped_alone(e):
            self.state["run"]["reason"] = e.get("reason")

    def _on_alert(self, e: dict) -> None:
        level = e.get("level", "info")
        counts = self.state["alert_counts"]
        counts[level] = counts.get(level, 0) + 1
        alerts = self.state["alerts"]
        alerts.append({k: e.get(k) for k in ("t", "level", "kind", "message")})
        del alerts[:-MAX_ALERTS]

    # ---- active capture: the trainer's proposals and the capture's acceptances ----------
    def _on_active_proposal(self, e: dict) -> None:
        active = self.state["active"]
        if active is None:  # not an active plan: nothing to show
            return
        values = [[v.get(n) for n in self.knob_names] for v in e.get("settings") or [] if isinstance(v, dict)]
        proposal = {k: e.get(k) for k in ("batch", "signal", "based_on_takes", "t")} | {"settings": values}
        self.state["active"] = active | {"proposal": proposal, "map": e.get("map") or active["map"]}

    def _on_batch_accepted(self, e: dict) -> None:
        active = self.state["active"]
        if active is None:
            return
        rows = [s for s in e.get("settings") or [] if isinstance(s, dict) and "id" in s]
        known = {s["id"] for s in self.state["settings"]}
        added = [
            {"id": s["id"], "split": "train", "v": [(s.get("knobs") or {}).get(n) for n in self.knob_names]}
            for s in rows
            if s["id"] not in known
        ]
        if added:
            self.state["settings"] = self.state["settings"] + added
        batch = {"batch": e.get("batch"), "source": e.get("source"), "ids": [s["id"] for s in rows]}
        kept = [b for b in active["batches"] if b["batch"] != batch["batch"]]  # a replayed event once
        self.state["active"] = active | {"batches": [*kept, batch]}

    def _on_train(self, e: dict) -> None:
        training = self.state["training"]
        name = e.get("model") or "model"
        model = training["models"].setdefault(name, _new_model(name))
        training["active"] = name
        kind = e["type"]
        if kind == "train_started":
            model.update(params=e.get("params"), status="training", started_t=e.get("t"))
        elif kind == "train_epoch":
            for key, src in (
                ("epoch", "epoch"),
                ("train", "train_loss"),
                ("val", "val_loss"),
                ("val_esr", "val_esr"),
                ("lr", "lr"),
            ):
                model[key].append(_finite(e.get(src)))
            model["takes_used"] = e.get("takes_used", model["takes_used"])
            model["best_epoch"] = _best_epoch(model)
        elif kind == "train_test":
            model.update(
                test_esr=_finite(e.get("esr")), per_setting=_per_setting(e.get("per_setting")), status="tested"
            )
        elif kind == "train_exported":
            model.update(exported=[self._relative(f) for f in e.get("files") or []], status="exported")
        elif kind == "train_finished":
            model.update(
                best_val_loss=_finite(e.get("best_val_loss")),
                status="finished",
                stop_reason=e.get("stop_reason"),
                ended_t=e.get("t"),
                epochs=e.get("epochs"),
            )
            report = f"{TRAIN_DIR}/{name}/report.md"
            if self.folder is not None and (self.folder / report).is_file():
                model["report"] = report
            if e.get("test_esr") is not None:
                model["test_esr"] = _finite(e["test_esr"])

    def _relative(self, path: str) -> str:
        """Exported files as paths inside the session (the trainer logs absolute ones)."""
        p = Path(path)
        if self.folder is not None and p.is_absolute() and p.is_relative_to(self.folder.resolve()):
            return p.relative_to(self.folder.resolve()).as_posix()
        return p.as_posix()

    def train_files(self) -> set[str]:
        models = self.state["training"]["models"].values()
        return {f for m in models for f in m["exported"]} | {m["report"] for m in models if m["report"]}

    # ---- takes -----------------------------------------------------------------------
    def _take_row(self, r: dict, audio: bool) -> dict:
        verdict, reasons = qc_verdict(r.get("qc"))
        latency = r.get("latency_samples")
        qc = cast(dict, r.get("qc")) if isinstance(r.get("qc"), dict) else {}
        return {
            "take_id": r.get("take_id"),
            "setting_id": r.get("setting_id"),
            "index": r.get("index"),
            "split": r.get("split"),
            "knobs": r.get("knobs") or {},
            "latency_ms": None if latency is None else round(latency * 1000 / self.sample_rate, 3),
            "snr_db": r.get("snr_db", qc.get("snr_db")),
            "retries": r.get("retries", 0),
            "qc": verdict,
            "qc_reasons": reasons,
            "t": r.get("t"),
            "audio": audio,
            "send_dbfs": None,
            "return_dbfs": None,
        }

    def _add_take(self, row: dict) -> None:
        old = self._rows.get(row["take_id"])
        if old is not None:  # the manifest came first: the event adds snr, levels and time
            old.update({k: v for k, v in row.items() if v is not None}, audio=old["audio"] or row["audio"])
            return
        self._rows[row["take_id"]] = row
        self.state["takes"].append(row)
        self._count_done(row)

    def _count_done(self, row: dict) -> None:
        if row["split"] != "reference" and row["setting_id"] is not None:
            self._done_ids.add(row["setting_id"])
            p = self.state["progress"]
            p["done"] = max(p["done"], len(self._done_ids))

    def add_manifest(self, records: list[dict]) -> None:
        """Committed takes: their audio can be served. Adds takes whose event was lost. A
        retracted take (resume found it damaged and moved its files aside) has no audio."""
        for r in records:
            if is_retraction(r):
                self.committed.discard(r["take_id"])
                if r["take_id"] in self._rows:
                    self._rows[r["take_id"]]["audio"] = False
                continue
            if not is_take_record(r):
                continue
            self.committed.add(r["take_id"])
            if r.get("take_id") in self._rows:
                self._rows[r["take_id"]]["audio"] = True
            else:
                self._add_take(self._take_row({**r, "t": _iso_to_unix(r.get("recorded_at"))}, audio=True))

    def keep_committed_only(self) -> None:
        """After the manifest was rewritten: takes it no longer lists are gone from the session."""
        takes = [row for row in self.state["takes"] if row["take_id"] in self.committed]
        self.state["takes"] = takes
        self._rows = {row["take_id"]: row for row in takes}
        self._done_ids.clear()
        self.state["progress"]["done"] = 0
        for row in takes:
            self._count_done(row)


def _plan_summary(info: dict, plan: dict, sample_rate: int) -> dict:
    counts: dict[str, int] = {}
    for s in info.get("settings", []):
        counts[s["split"]] = counts.get(s["split"], 0) + 1
    plan_file = info.get("plan_file")
    train = plan.get("train") or {}
    return {
        "name": Path(plan_file).stem if plan_file else None,
        "file": plan_file,
        "take_seconds": (plan.get("take") or {}).get("seconds"),
        "splits": counts,
        "models": train.get("models", []),
        "train_auto": train.get("auto", True),
        "budget_minutes": train.get("budget_minutes"),
        "sample_rate": sample_rate,
        "interface": (plan.get("audio") or {}).get("interface"),
    }


def _active_summary(plan: dict) -> dict | None:
    """An active capture's knob-space view (None for other plans): accepted batches, the
    trainer's latest proposal, and its error map (rig/train/acquisition.py knob_space_map)."""
    settings = plan.get("settings") or {}
    if settings.get("method") != "active":
        return None
    return {"batches": [], "proposal": None, "map": None}


def _knob_summary(k: dict) -> dict:
    keys = ("name", "label", "min", "max", "rotation_deg", "fixed", "detents")
    return {key: k.get(key) for key in keys} | {"rotation_deg": k.get("rotation_deg", 300.0)}


def _new_model(name: str) -> dict:
    return {
        "name": name,
        "params": None,
        "status": "waiting",
        "epoch": [],
        "train": [],
        "val": [],
        "val_esr": [],
        "lr": [],
        "takes_used": None,
        "test_esr": None,
        "per_setting": [],
        "exported": [],
        "best_val_loss": None,
        "best_epoch": None,
        "stop_reason": None,
        "started_t": None,
        "ended_t": None,
        "epochs": None,
        "report": None,
    }


def _best_epoch(model: dict):
    """The epoch the trainer keeps (lowest val loss, or train loss without a val set)."""
    monitor = [v if v is not None else t for v, t in zip(model["val"], model["train"], strict=True)]
    best = None
    for epoch, value in zip(model["epoch"], monitor, strict=True):
        if value is not None and (best is None or value < best[1]):
            best = (epoch, value)
    return best and best[0]


def _per_setting(rows) -> list[dict]:
    return [
        {"setting_id": r.get("setting_id"), "knobs": r.get("knobs") or {}, "esr": _finite(r.get("esr"))}
        for r in rows or []
        if isinstance(r, dict)
    ]


def _finite(value):
    """NaN and infinities (a diverged epoch) are not JSON: shown as missing."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _iso_to_unix(text) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


# ---- following the files ------------------------------------------------------------------
@dataclass
class _Tail:
    """Where we are in an append-only file, and how to tell it was replaced or cut."""

    path: Path
    offset: int = 0
    inode: tuple[int, int] | None = None
    edge: bytes = b""  # the bytes just before `offset`: rewritten files rarely keep them

    def rewritten(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self.offset > 0
        if st.st_size < self.offset or (self.inode is not None and (st.st_dev, st.st_ino) != self.inode):
            return True
        return bool(self.edge) and self._read_edge() != self.edge

    def moved_to(self, offset: int) -> None:
        self.offset = offset
        try:
            st = os.stat(self.path)
            self.inode = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            self.inode = None
        self.edge = self._read_edge() if offset else b""

    def _read_edge(self) -> bytes:
        start = max(0, self.offset - 64)
        try:
            with open(self.path, "rb") as f:
                f.seek(start)
                return f.read(self.offset - start)
        except FileNotFoundError:
            return b""


@dataclass
class Encoded:
    """One revision of the view as JSON text per top-level key (rows separately for the list
    keys), shared by every stream: each diffs it against what its client last got."""

    fold: str
    rev: int
    keys: dict[str, str]
    rows: dict[str, list[str]] = field(default_factory=dict)
    run_extra: str = ""  # what the app added to `run` (the control's state changes without events)


def to_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


class SessionFollower:
    """One shared, incrementally updated state per app: each call folds only the lines
    appended since the last one. When events.jsonl or manifest.jsonl shrinks or is replaced,
    the state is refolded from scratch under a new `fold` id (clients then reload once)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.info = Session.open(self.folder).info
        self._boot = secrets.token_hex(4)  # a restarted server is a new fold for the page too
        self._generation = 0
        self._lock = threading.Lock()
        self._encoded: Encoded | None = None
        self._recent: dict[int, Encoded] = {}
        self._refold()
        self._catch_up()  # at start-up, so the first page load only folds what came since

    @property
    def fold(self) -> str:
        return f"{self._boot}-{self._generation}"

    def take_ids(self) -> set[str]:
        with self._lock:
            self._catch_up()
            return set(self._builder.committed)

    def train_files(self) -> set[str]:
        with self._lock:
            self._catch_up()
            return self._builder.train_files()

    def state_json(self, run_extra: dict | None = None) -> str:
        """/api/state: the view plus `now` (the server clock), as JSON text."""
        enc = self.encoded(run_extra)  # remembered: the page's stream starts from this revision
        return "{" + ",".join(f'"{k}":{v}' for k, v in enc.keys.items()) + f',"now":{time.time():.3f}}}'

    def snapshot(self, run_extra: dict | None = None) -> dict:
        return json.loads(self.state_json(run_extra))

    def encoded(self, run_extra: dict | None = None) -> Encoded:
        with self._lock:
            self._catch_up()
            enc = self._encoded
            extra = repr(run_extra)
            if enc is None or enc.rev != self._rev or enc.fold != self.fold or enc.run_extra != extra:
                enc = self._encoded = self._encode(self._view(run_extra))
                enc.run_extra = extra
                self._recent = {e.rev: e for e in (*self._recent.values(), enc) if e.fold == enc.fold}
                while len(self._recent) > KEEP_REVISIONS:
                    del self._recent[min(self._recent)]
            return enc

    def encoded_at(self, rev: int) -> Encoded | None:
        """A recent revision (what a page that just loaded /api/state holds), if still known."""
        with self._lock:
            return self._recent.get(rev)

    def _view(self, run_extra: dict | None) -> dict:
        state = self._builder.state
        run = {**state["run"], **(run_extra or {})}
        return {**state, "run": run, "fold": self.fold, "rev": self._rev}

    def _encode(self, view: dict) -> Encoded:
        enc = Encoded(self.fold, self._rev, {})
        for key, value in view.items():
            if key in LIST_KEYS:
                enc.rows[key] = [to_json(row) for row in value]
                enc.keys[key] = "[" + ",".join(enc.rows[key]) + "]"
            else:
                enc.keys[key] = to_json(value)
        return enc

    def _refold(self) -> None:
        self._builder = StateBuilder(self.info, self.folder.name, self.folder)
        self._events = _Tail(self.folder / EVENTS_FILE)
        self._manifest = _Tail(self.folder / MANIFEST_FILE)
        self._rev = 0

    def _catch_up(self) -> None:
        manifest_rewritten = self._manifest.rewritten()
        if manifest_rewritten or self._events.rewritten():
            self._generation += 1
            self._refold()
        # Manifest first: a take's line is appended before its take_recorded event.
        records, m_offset = read_jsonl(self._manifest.path, self._manifest.offset, parse=parse_line)
        events, e_offset = read_events(self._events.path, self._events.offset)
        for event in events:
            self._builder.apply(event)
        self._builder.add_manifest(records)
        if manifest_rewritten:
            self._builder.keep_committed_only()
        if events or records or m_offset != self._manifest.offset or e_offset != self._events.offset:
            self._rev += 1
            self._manifest.moved_to(m_offset)
            self._events.moved_to(e_offset)
