"""Checks before anything moves: plan, settings, route, disk, session folder. The robot and
the audio are checked when they are opened (rig.capture.parts), still before any move."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from rig.capture.naming import default_session_folder
from rig.capture.options import CaptureOptions
from rig.capture.resume import prepare_session, stored_reference
from rig.errors import UserError
from rig.plan import Plan, Setting, load_plan, reference_setting, sample_settings
from rig.plan.summary import take_seconds
from rig.session import SESSION_FILE, Session, plan_hash

WAV_HEADER_BYTES = 4096  # generous: header plus any metadata chunks
FIXED_OVERHEAD_BYTES = 2 << 20  # session.yaml, manifest, events


@dataclass
class Prepared:
    plan: Plan
    plan_file: Path
    folder: Path
    settings: list[Setting]
    order: list[int]
    reference: Setting
    estimate_s: float
    session: Session | None = None  # open session when resuming; created later otherwise
    notes: list[str] = field(default_factory=list)  # what resume repaired or moved aside: warnings

    @property
    def by_id(self) -> dict[int, Setting]:
        return {s.id: s for s in self.settings}

    @property
    def total(self) -> int:
        """Takes this capture makes in all (references aside): the route, or for an active
        plan its test settings plus the train+val budget (most of it proposed while it runs)."""
        if self.plan.settings.method != "active":
            return len(self.order)
        from rig.plan.active import budget_takes

        return budget_takes(self.plan) + sum(1 for s in self.settings if s.split == "test")

    def done_count(self) -> int:
        if self.plan.settings.method != "active":
            return len(self.order) - len(self.todo())
        return len(self.session.done_setting_ids()) if self.session else 0

    def active_left(self) -> int:
        """Takes of an active plan not yet accepted into a batch (0 for other plans)."""
        if self.plan.settings.method != "active":
            return 0
        from rig.plan.active import proposed_takes
        from rig.session.proposals import accepted_settings

        return proposed_takes(self.plan) - (len(accepted_settings(self.folder)) if self.session else 0)

    def todo(self) -> list[int]:
        done = self.session.done_setting_ids() if self.session else set()
        return [sid for sid in self.order if sid not in done]


def prepare(opts: CaptureOptions) -> Prepared:
    if opts.resume:
        prep = _prepare_resume(opts)
    else:
        prep = _prepare_new(opts)
    try:
        check_disk(prep.plan, prep.folder, len(prep.todo()) + prep.active_left())
    except UserError:
        if prep.session:
            prep.session.unlock()
        raise
    return prep


def _prepare_new(opts: CaptureOptions) -> Prepared:
    if not opts.plan_file:
        raise UserError("no plan given; use --plan PLAN.yaml (e.g. capture_plans/demo.yaml) or --resume SESSION")
    plan = load_plan(opts.plan_file)
    folder = Path(opts.session) if opts.session else default_session_folder(opts.plan_file)
    _check_folder_free(folder)
    settings = sample_settings(plan)
    if not any(s.split == "train" for s in settings):
        raise UserError(
            f"{opts.plan_file}: the settings section gives no training settings; "
            "give settings.count or grid values for the knobs"
        )
    order, estimate = _route(plan, settings)
    return Prepared(plan, Path(opts.plan_file), folder, settings, order, reference_setting(plan), estimate)


def _prepare_resume(opts: CaptureOptions) -> Prepared:
    assert opts.resume is not None  # prepare() comes here only with --resume
    session = Session.open(opts.resume)
    plan_file = Path(opts.plan_file) if opts.plan_file else _stored_plan_file(session)
    if not plan_file.is_file():
        raise UserError(
            f"the plan file of {opts.resume} ({plan_file}) is gone; give it with --plan PLAN.yaml "
            f"(a copy of the plan is in {Path(opts.resume) / SESSION_FILE})"
        )
    plan = load_plan(plan_file)
    if plan_hash(plan) != session.info.get("plan_hash"):
        raise UserError(
            f"{plan_file} changed since session {opts.resume} started; restore the plan as it was "
            f"(a copy is in {Path(opts.resume) / SESSION_FILE}) or start a new session without --resume"
        )
    # The session's own settings and route, not a fresh sampling: resume must continue the same run.
    settings = session.settings()
    order = list(session.info["route"])
    estimate = float(session.info.get("estimate_s") or 0.0) or _route_estimate(plan, settings, order)
    reference = stored_reference(session, plan)
    session.lock()  # before repairing: no other capture may be writing this session
    try:
        notes = prepare_session(session, plan, reference)
    except BaseException:
        session.unlock()
        raise
    return Prepared(plan, plan_file, Path(opts.resume), settings, order, reference, estimate, session, notes)


def _stored_plan_file(session: Session) -> Path:
    """Sessions store the plan's absolute path; older ones stored it relative to where the
    capture ran, which is usually the folder above sessions/."""
    raw = session.info.get("plan_file")
    stored = Path(raw or "")
    if not raw or stored.is_absolute():
        return stored
    for base in (Path.cwd(), session.folder.resolve().parent.parent, session.folder.resolve().parent):
        if (base / stored).is_file():
            return base / stored
    return stored


def _check_folder_free(folder: Path) -> None:
    if (folder / SESSION_FILE).exists():
        raise UserError(
            f"{folder} already holds a session; continue it with --resume {folder} or choose another --session"
        )
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError(f"{folder} exists and is not an empty folder; choose another --session folder")


def _route(plan: Plan, settings: list[Setting]) -> tuple[list[int], float]:
    from rig import route as routing

    if plan.settings.method == "active":
        return _active_route(plan, settings)
    route = routing.plan_route(plan, settings)
    return list(route.order), float(routing.estimate_capture_seconds(plan, settings, route))


def _active_route(plan: Plan, settings: list[Setting]) -> tuple[list[int], float]:
    """Test settings first (every stage of an active capture is evaluated on them), then the
    initial batch and val from where the last test setting left the robot. The estimate
    scales the recorded part's to the whole budget: proposed batches are not known yet."""
    from rig import route as routing
    from rig.plan.active import budget_takes

    test = [s for s in settings if s.split == "test"]
    rest = [s for s in settings if s.split != "test"]
    first = routing.plan_route(plan, test).order if test else []
    start = next(s.values for s in test if s.id == first[-1]) if first else None
    order = list(first) + list(routing.plan_route(plan, rest, start=start).order)
    estimate = float(routing.estimate_capture_seconds(plan, settings, SimpleNamespace(order=order)))  # type: ignore[arg-type]
    return order, estimate * (budget_takes(plan) + len(test)) / max(len(settings), 1)


def _route_estimate(plan: Plan, settings: list[Setting], order: list[int]) -> float:
    from rig import route as routing

    # a stand-in Route: the estimate reads only route.order
    return float(routing.estimate_capture_seconds(plan, settings, SimpleNamespace(order=order)))  # type: ignore[arg-type]


def reference_count(plan: Plan, takes: int) -> int:
    """References at the start, every `reference_every` takes, and at the end."""
    if takes == 0:
        return 0
    every = plan.settings.reference_every
    return 2 + ((takes - 1) // every if every else 0)


def bytes_per_take(plan: Plan) -> int:
    samples = math.ceil(take_seconds(plan) * plan.audio.sample_rate)
    return 3 * (samples * 4 + WAV_HEADER_BYTES)


def needed_bytes(plan: Plan, takes: int) -> int:
    return (takes + reference_count(plan, takes)) * bytes_per_take(plan) + FIXED_OVERHEAD_BYTES


def check_disk(plan: Plan, folder: Path, takes: int) -> None:
    need = needed_bytes(plan, takes)
    probe = folder
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        raise UserError(
            f"not enough free disk for this capture at {probe}: needs {_mb(need)}, {_mb(free)} free; "
            "free some space or choose another --session folder"
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
