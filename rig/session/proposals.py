"""The link of an active capture (settings.method: active): the trainer proposes the next
batch of knob settings, the capture accepts each batch exactly once (docs/CONTRACTS.md).

  proposals/batch-NNNN.json  written by the trainer, atomically (write_proposal), never changed
                             by the capture: {batch, settings: [{values, score}], based_on_takes,
                             signal, written_at}
  proposals/accepted.jsonl   appended and fsynced by the capture, one line per accepted batch:
                             {batch, source: trainer|fallback, settings: [{id, label, values,
                             score, origin}], dropped, at}

Acceptance is its own fsynced, single-writer file rather than an event: events.jsonl is not
fsynced (it is written ten times a second while a take records) and the trainer appends to
it too, while acceptance is the capture's decision that a crash must never lose or repeat.
The line is the commit point: a batch with a line is consumed (its proposal file is never
read again), one without is decided again after a restart from the same file, so a batch
is accepted at most once and, once accepted, its settings are recorded by this run or the
next `--resume`."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rig.errors import UserError
from rig.plan import Plan, Setting
from rig.plan.active import active_block, proposed_id, proposed_label, proposed_takes, sobol_after
from rig.plan.sample import normalised, snap_to_dial
from rig.session.atomic import append_line_synced, repair_torn_tail, write_bytes_atomic
from rig.session.events import EventLog
from rig.session.jsonl import complete_lines, read_jsonl
from rig.session.store import Session

PROPOSALS_DIR = "proposals"
ACCEPTED_FILE = "accepted.jsonl"
PROPOSAL_MAX_BYTES = 16 << 20  # a batch of settings is small; refuse to parse anything huge


class ProposalError(ValueError):
    """A proposal file that is there but is not a valid proposal (torn, damaged, wrong batch)."""


@dataclass(frozen=True)
class Proposal:
    batch: int
    settings: list[dict]  # [{"values": {knob: value}, "score": float | None}], best first
    based_on_takes: int | None = None
    signal: str = ""
    written_at: str = ""


@dataclass(frozen=True)
class AcceptedSetting:
    id: int  # setting id in the manifest (int, as every setting id)
    label: str  # a02-03: batch 2, third setting
    values: dict[str, float]  # every knob, fixed ones included
    score: float | None = None
    origin: str = "trainer"  # trainer | fallback (a Sobol point filling the batch)


@dataclass(frozen=True)
class AcceptedBatch:
    batch: int
    source: str  # trainer: built from its proposal; fallback: Sobol points after a timeout
    settings: list[AcceptedSetting]
    dropped: list[str] = field(default_factory=list)  # why proposed settings were refused
    at: str = ""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def proposal_path(folder: Path, batch: int) -> Path:
    return Path(folder) / PROPOSALS_DIR / f"batch-{batch:04d}.json"


def accepted_path(folder: Path) -> Path:
    return Path(folder) / PROPOSALS_DIR / ACCEPTED_FILE


# ---- the trainer's side ------------------------------------------------------------------
def write_proposal(
    folder: Path,
    batch: int,
    settings: list[dict],
    based_on_takes: int | None = None,
    signal: str = "",
) -> Path:
    """Write batch `batch` atomically. settings: [{"values": {knob: value}, "score": x}] (or
    bare {knob: value} mappings), best first; the capture takes them in this order."""
    rows: list[dict] = [s if "values" in s else {"values": s, "score": None} for s in settings]
    doc = {
        "batch": int(batch),
        "settings": [{"values": dict(r["values"]), "score": r.get("score")} for r in rows],
        "based_on_takes": based_on_takes,
        "signal": signal,
        "written_at": _now(),
    }
    path = proposal_path(folder, batch)
    path.parent.mkdir(exist_ok=True)
    write_bytes_atomic(path, json.dumps(doc, indent=1).encode())
    return path


def next_batch(folder: Path) -> int:
    """The batch number the capture waits for next: the last accepted one plus one. A
    proposal for a batch already accepted (say as a fallback after a timeout) is ignored."""
    done = accepted_batches(folder)
    return done[-1].batch + 1 if done else 1


# ---- reading -----------------------------------------------------------------------------
def read_proposal(folder: Path, batch: int) -> Proposal | None:
    """The proposal for `batch`, or None while there is none. Raises ProposalError for a file
    that is there but not a valid proposal (a writer that did not write atomically, say)."""
    path = proposal_path(folder, batch)
    try:
        with open(path, "rb") as f:
            data = f.read(PROPOSAL_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProposalError(f"{path.name}: cannot read it ({exc.strerror})") from None
    return parse_proposal(data, batch, path.name)


def parse_proposal(data: bytes, batch: int, name: str = "proposal") -> Proposal:
    if len(data) > PROPOSAL_MAX_BYTES:
        raise ProposalError(f"{name}: larger than {PROPOSAL_MAX_BYTES >> 20} MB")
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProposalError(f"{name}: not complete JSON (torn or damaged)") from None
    if not isinstance(doc, dict) or doc.get("batch") != batch or isinstance(doc.get("batch"), bool):
        raise ProposalError(f"{name}: not a proposal for batch {batch}")
    rows = doc.get("settings")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("values"), dict) for r in rows):
        raise ProposalError(f"{name}: settings is not a list of {{values, score}}")
    based = doc.get("based_on_takes")
    return Proposal(
        batch=batch,
        settings=[{"values": r["values"], "score": _score(r.get("score"))} for r in rows],
        based_on_takes=based if isinstance(based, int) else None,
        signal=str(doc.get("signal") or ""),
        written_at=str(doc.get("written_at") or ""),
    )


def _score(value) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _parse_accepted(raw: bytes) -> AcceptedBatch | None:
    try:
        doc = json.loads(raw)
        return AcceptedBatch(
            batch=int(doc["batch"]),
            source=str(doc["source"]),
            settings=[AcceptedSetting(**s) for s in doc["settings"]],
            dropped=list(doc.get("dropped") or []),
            at=str(doc.get("at") or ""),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None  # a damaged line: never a committed acceptance


def accepted_batches(folder: Path) -> list[AcceptedBatch]:
    """Every accepted batch, in batch order; the first line of a batch number wins (a second
    one cannot be written by accept(), but a reader must not trust that blindly). An
    unterminated last line (a crash mid-append) is not an acceptance."""
    lines, _ = read_jsonl(accepted_path(folder), parse=_parse_accepted)
    first: dict[int, AcceptedBatch] = {}
    for b in lines:
        first.setdefault(b.batch, b)
    return [first[n] for n in sorted(first)]


def accepted_settings(folder: Path) -> list[Setting]:
    """The accepted settings as training settings (they are never val or test)."""
    return [Setting(s.id, s.values, "train") for b in accepted_batches(folder) for s in b.settings]


def accepted_problems(folder: Path) -> list[str]:
    """What `rig verify` reports about accepted.jsonl, one line each: a torn last line (resume
    cuts it: that batch is decided again), damaged lines, repeated or skipped batch numbers."""
    path = accepted_path(folder)
    name = f"{PROPOSALS_DIR}/{ACCEPTED_FILE}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines, end = complete_lines(data)
    problems = []
    if end < len(data):
        problems.append(f"{name}: ends in a torn line of {len(data) - end} bytes (an acceptance cut short)")
    numbers = []
    for n, raw in enumerate(lines, 1):
        batch = _parse_accepted(raw)
        if batch is None:
            problems.append(f"{name} line {n}: damaged (not an accepted batch); its takes may be recorded twice")
        else:
            numbers.append(batch.batch)
    for i, b in enumerate(sorted(set(numbers)), 1):
        if b != i:
            problems.append(f"{name}: batch {i} is missing (the lines go on with batch {b})")
            break
    problems += [f"{name}: batch {b} is accepted {n} times" for b, n in sorted(Counter(numbers).items()) if n > 1]
    return problems


def repair_accepted(folder: Path) -> Path | None:
    """Cut a torn last line of accepted.jsonl (kept beside it), as resume does for the logs."""
    return repair_torn_tail(accepted_path(folder))


# ---- the capture's side ------------------------------------------------------------------
def accept(folder: Path, batch: int, proposal: Proposal | None, events: EventLog | None = None) -> AcceptedBatch:
    """Decide batch `batch` and record it durably: the proposal's settings that are valid
    (inside the dial ranges, min_distance from every test setting, from every setting already
    taken and from each other), topped up with the plan's next Sobol points; with no proposal,
    Sobol points only (source fallback). Emits `batch_accepted` (and an alert for what was
    dropped) once the line is on disk."""
    session = Session.open(folder)
    plan = session.plan()
    done = accepted_batches(folder)
    expected = done[-1].batch + 1 if done else 1
    if batch != expected:
        raise UserError(f"batch {batch} cannot be accepted: the next batch of {folder} is {expected}")
    size = min(active_block(plan).batch, proposed_takes(plan) - sum(len(b.settings) for b in done))
    if size <= 0:
        raise UserError(f"batch {batch} cannot be accepted: the take budget of {folder} is used up")
    static = session.settings()
    test = [s.values for s in static if s.split == "test"]
    taken = [s.values for s in static if s.split != "test"] + [s.values for b in done for s in b.settings]
    kept, dropped = _filter(plan, proposal.settings if proposal else [], test, taken, size)
    fill = sobol_after(plan, test + taken + [v for v, _ in kept], size - len(kept))
    first = len(static)
    rows = [(v, score, "trainer") for v, score in kept] + [(v, None, "fallback") for v in fill]
    accepted = AcceptedBatch(
        batch=batch,
        source="trainer" if kept else "fallback",
        settings=[
            AcceptedSetting(proposed_id(first, active_block(plan).batch, batch, i), proposed_label(batch, i), v, s, o)
            for i, (v, s, o) in enumerate(rows)
        ],
        dropped=dropped,
        at=_now(),
    )
    accepted_path(folder).parent.mkdir(exist_ok=True)
    append_line_synced(accepted_path(folder), json.dumps(asdict(accepted), separators=(",", ":")))
    if events is not None:
        announce(events, accepted, proposal)
    return accepted


def announce(events: EventLog, b: AcceptedBatch, proposal: Proposal | None = None, replayed: bool = False) -> None:
    """Emit `batch_accepted` (and the alert for what was dropped). replayed: for a batch whose
    line was written but whose event was lost to a crash, emitted again by --resume."""
    if b.dropped and not replayed:
        shown = "; ".join(b.dropped[:5]) + (" ..." if len(b.dropped) > 5 else "")
        events.emit(
            "alert",
            level="warning",
            kind="proposal_filtered",
            batch=b.batch,
            message=f"batch {b.batch}: {len(b.dropped)} proposed setting(s) refused ({shown})",
        )
    events.emit(
        "batch_accepted",
        batch=b.batch,
        source=b.source,
        count=len(b.settings),
        setting_ids=[s.id for s in b.settings],
        settings=[{"id": s.id, "label": s.label, "knobs": s.values, "origin": s.origin} for s in b.settings],
        proposed=len(proposal.settings) if proposal else 0,
        based_on_takes=proposal.based_on_takes if proposal else None,
        signal=proposal.signal if proposal else "",
        **({"replayed": True} if replayed else {}),
    )


def _filter(
    plan: Plan, rows: list[dict], test: list[dict], taken: list[dict], size: int
) -> tuple[list[tuple[dict[str, float], float | None]], list[str]]:
    """The proposed settings the capture may record, in the proposal's order, at most `size`."""
    min_d = active_block(plan).min_distance
    test_pts = np.array([normalised(plan, v) for v in test]).reshape(-1, len(plan.sampled_knobs))
    kept_pts = [normalised(plan, v) for v in taken]
    kept: list[tuple[dict[str, float], float | None]] = []
    dropped: list[str] = []
    for i, row in enumerate(rows):
        if len(kept) == size:
            break
        values, why = _dial_values(plan, row["values"])
        if values is None:
            dropped.append(f"#{i + 1}: {why}")
            continue
        point = normalised(plan, values)
        if _near(point, test_pts, min_d):
            dropped.append(f"#{i + 1}: within {min_d:g} of a test setting")
            continue
        if _near(point, np.array(kept_pts).reshape(-1, len(point)), min_d):
            dropped.append(f"#{i + 1}: within {min_d:g} of a setting already taken")
            continue
        kept_pts.append(point)
        kept.append((values, row.get("score")))
    return kept, dropped


def _near(point: np.ndarray, others: np.ndarray, distance: float) -> bool:
    if not len(others):
        return False
    gap = float(np.min(np.linalg.norm(others - point, axis=1)))
    return gap < distance or gap < 1e-9  # the same setting twice is never taken, even at distance 0


def _dial_values(plan: Plan, given: dict) -> tuple[dict[str, float] | None, str]:
    """Every knob's dial value (snapped like sampled ones; fixed knobs at their value), or why not."""
    unknown = sorted(set(given) - {k.name for k in plan.knobs})
    if unknown:
        return None, f"unknown knob '{unknown[0]}'"
    out: dict[str, float] = {}
    for k in plan.knobs:
        if not k.sampled:
            out[k.name] = float(k.fixed)  # type: ignore[arg-type]  # fixed is set when not sampled
            continue
        v = given.get(k.name)
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            return None, f"no value for knob '{k.name}'"
        if not k.min <= v <= k.max:
            return None, f"{k.name}={v:g} outside {k.min:g}..{k.max:g}"
        out[k.name] = snap_to_dial(k, float(v))
    return out, ""
