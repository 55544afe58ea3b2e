"""One setting -> one stored take: move, settle, record, align, check (re-record on failure),
write to temporary files, commit. A take that never passes is not stored."""

from __future__ import annotations

import contextlib
import errno
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rig.capture.control import CaptureControl
from rig.capture.drift import content_of
from rig.capture.parts import Robot
from rig.errors import UserError
from rig.plan import Plan, Setting
from rig.session import EventLog, Session


@dataclass
class Outcome:
    setting: Setting
    take_id: str
    ok: bool
    retries: int = 0
    reasons: list[str] = field(default_factory=list)
    record: dict | None = None
    wet_content: np.ndarray | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # move, settle, record, checks, write


def dbfs(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return round(20 * np.log10(peak), 2) if peak > 0 else -200.0


def knob_tolerance(plan: Plan, knob) -> float:
    """One motor step in dial units: the finest position the robot can be asked for."""
    step_deg = 360.0 / plan.robot.steps_per_rev
    return 1.01 * step_deg / knob.rotation_deg * (knob.max - knob.min) + 1e-6


class Recorder:
    def __init__(self, plan: Plan, session: Session, events: EventLog, robot: Robot, iface, control: CaptureControl):
        self.plan, self.session, self.events = plan, session, events
        self.robot, self.iface, self.control = robot, iface, control
        self._programs: dict[tuple, object] = {}
        self._polarity_told = False  # an inverted loopback is reported once per run

    # ---- the steps ----------------------------------------------------------------
    def program(self, setting: Setting):
        from rig.audio import build_program

        # Every setting gets its own content (variety for training); references repeat one.
        seed = (
            self.plan.settings.seed
            if setting.split == "reference"
            else self.plan.settings.seed * 100_003 + setting.id + 1
        )
        key = (setting.split, seed)
        if key not in self._programs:
            if len(self._programs) > 4:
                self._programs.clear()
            self._programs[key] = build_program(self.plan, split=setting.split, seed=seed)
        return self._programs[key]

    def move(self, setting: Setting, out: Outcome) -> None:
        t0 = time.monotonic()
        self.events.emit("robot", state="moving", knobs=setting.values)
        self.robot.move(setting.values)
        out.seconds["move"] = time.monotonic() - t0
        self.events.emit(
            "moved",
            setting_id=setting.id,
            knobs=setting.values,
            seconds=round(out.seconds["move"], 3),
            actual=self.robot.actual(),
            recoveries=self.robot.recoveries,
        )
        self.events.emit("robot", state="idle", knobs=setting.values)
        t0 = time.monotonic()
        time.sleep(self.plan.robot.settle_s / self.robot.time_scale)
        out.seconds["settle"] = time.monotonic() - t0

    def off_target(self, setting: Setting) -> str | None:
        """Where the shafts are, or were during the take, not where the setting says (simulator only)."""
        actual = self.robot.actual()
        if actual is None:
            return None
        worst = dict(self.robot.worst)
        wrong = [
            f"{k.name} at {actual[k.name]:.3f} (off by up to {worst.get(k.name, 0.0):.3f}) not {setting.values[k.name]:g}"
            for k in self.plan.knobs
            if k.axis is not None
            and max(abs(actual[k.name] - setting.values[k.name]), worst.get(k.name, 0.0)) > knob_tolerance(self.plan, k)
        ]
        return "knob off target: " + ", ".join(wrong) if wrong else None

    def record_once(self, setting: Setting, program, out: Outcome):
        """One attempt: (aligned take, qc) when good, else the reason it failed."""
        from rig import audio

        t0 = time.monotonic()
        self.robot.watch(setting.values)
        try:
            rec = self.iface.play_record(program.signal)
        finally:
            self.robot.watch(None)
        out.seconds["record"] = out.seconds.get("record", 0.0) + time.monotonic() - t0
        t0 = time.monotonic()
        try:
            self.emit_levels(program, rec)
            take = audio.align_take(program, rec)
            qc = audio.check_take(program, rec, take, self.plan.take)
            moved = self.off_target(setting)
        except audio.AlignmentError as exc:
            return None, None, f"alignment: {exc}"
        finally:
            out.seconds["checks"] = out.seconds.get("checks", 0.0) + time.monotonic() - t0
        if moved:
            return None, None, moved
        if not qc.ok:
            return None, None, "; ".join(qc.reasons) or "QC failed"
        return take, qc, None

    def emit_levels(self, program, rec) -> None:
        send, loop, ret = program.signal, np.asarray(rec.loopback), np.asarray(rec.wet)
        clip = self.plan.take.qc.clip_level  # as the take's QC judges it
        self.events.emit(
            "levels",
            send_dbfs=dbfs(send),
            loopback_dbfs=dbfs(loop),
            return_dbfs=dbfs(ret),
            clipped={
                "send": bool(np.max(np.abs(send)) >= clip),
                "loopback": bool(len(loop) and np.max(np.abs(loop)) >= clip),
                "return": bool(len(ret) and np.max(np.abs(ret)) >= clip),
            },
        )

    # ---- the whole take ---------------------------------------------------------------
    def capture(self, setting: Setting, take_id: str, index: int) -> Outcome:
        out = Outcome(setting, take_id, ok=False)
        t0 = time.monotonic()
        program = self.program(setting)
        out.seconds["program"] = time.monotonic() - t0
        self.move(setting, out)
        for attempt in range(self.plan.take.max_retries + 1):
            take, qc, reason = self.record_once(setting, program, out)
            if take is not None:
                out.retries = attempt
                self.store(setting, program, take, qc, out, index)
                return out
            out.reasons.append(reason)
            self.events.emit("take_failed", setting_id=setting.id, attempt=attempt + 1, reason=reason, take_id=take_id)
            if self.control.stopping:
                break  # interrupted: abandon this take rather than retry it
            if reason.startswith("knob off target"):
                self.move(setting, out)  # the shaft slipped or the MCU reset: put it back first
        out.retries = len(out.reasons)
        return out

    def store(self, setting: Setting, program, take, qc, out: Outcome, index: int) -> None:
        from rig.audio import write_take_wavs

        t0 = time.monotonic()
        finals = self.session.take_files(out.take_id)
        temps = {kind: Session.temp_path(p) for kind, p in finals.items()}
        record = self.manifest_record(setting, program, take, qc, out, index)
        try:
            # Check first: running out inside the WAV writer works too, but noisily.
            if shutil.disk_usage(self.session.folder).free < 3 * (4 * len(take.wet) + 4096) + (1 << 20):
                raise OSError(errno.ENOSPC, "No space left on device")
            write_take_wavs(temps, take)
            out.record = self.session.commit_take(record)
        except OSError as exc:
            self.drop_temps(out.take_id, temps)
            raise disk_error(exc, self.session.folder, out.take_id) from None
        out.seconds["write"] = time.monotonic() - t0
        out.ok = True
        out.wet_content = content_of(np.asarray(take.wet), record["content"])
        self.alert_polarity(take)

    def alert_polarity(self, take) -> None:
        """An inverted loopback is aligned correctly but is worth knowing about: say so once."""
        if getattr(take, "loopback_polarity", 1) < 0 and not self._polarity_told:
            self._polarity_told = True
            self.events.emit(
                "alert",
                level="warning",
                kind="loopback_polarity",
                message="the loopback arrives polarity-inverted (pin 2/3 swapped cable or inverting "
                "input); aligned correctly, recorded as loopback_polarity -1 in the manifest",
            )

    def drop_temps(self, take_id: str, temps: dict) -> None:
        """Free the space of a take that was not stored. Once its manifest line is written the
        take is stored, and resume finishes renaming its files: those are kept."""
        with contextlib.suppress(OSError):  # a read-only or failing disk: resume cleans up
            if any(r["take_id"] == take_id for r in self.session.manifest()):
                return
            for p in temps.values():
                p.unlink(missing_ok=True)

    def manifest_record(self, setting: Setting, program, take, qc, out: Outcome, index: int) -> dict:
        plan = self.plan
        return {
            "take_id": out.take_id,
            "setting_id": setting.id,
            "index": index,
            "split": setting.split,
            "knobs": setting.values,
            "knobs_norm": {k.name: round(k.normalise(setting.values[k.name]), 6) for k in plan.sampled_knobs},
            "knobs_actual": self.robot.actual(),
            "sample_rate": int(getattr(program, "sample_rate", plan.audio.sample_rate)),
            "samples": len(take.wet),
            "content": [int(c) for c in take.content],
            "latency_samples": int(take.latency_samples),
            "loopback_polarity": int(getattr(take, "loopback_polarity", 1)),
            "device_delay_samples": int(take.device_delay_samples),
            "gains": _plain(getattr(take, "gains", None) or program.gains),
            "qc": _plain(getattr(qc, "figures", {})),
            "retries": out.retries,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def _plain(value):
    """numpy scalars/arrays -> JSON types (the manifest is plain JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def disk_error(exc: OSError, folder: Path, take_id: str | None = None) -> UserError:
    what = f"take {take_id}" if take_id else "the session"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(
            f"disk full while writing {what} in {folder}; free some space, "
            f"then continue with: rig capture --resume {folder}"
        )
    cause = exc.strerror or str(exc)
    return UserError(
        f"cannot write {what} in {folder}: {cause}; fix it, then continue with: rig capture --resume {folder}"
    )
