"""The session directory: the one contract between capture, trainer and dashboard
(layout in docs/CONTRACTS.md and README.md)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from rig import __version__
from rig.errors import UserError
from rig.plan import Plan, Setting
from rig.plan.load import parse_yaml, read_capped, resolve_path
from rig.session.atomic import (
    TMP_SUFFIX,
    append_line_synced,
    fsync_dir,
    sha256_file,
    sync_file,
    torn_tail,
    write_bytes_atomic,
)
from rig.session.events import EVENTS_FILE, EventLog
from rig.session.integrity import pending_rename, take_problems
from rig.session.manifest import MANIFEST_FILE, TAKE_KINDS, read_manifest, scan_manifest, unnoted_damage

SESSION_FILE = "session.yaml"
TAKES_DIR = "takes"
TRAIN_DIR = "train"
ORPHANS_DIR = ".orphans"  # inside takes/: files moved aside instead of deleted
LOCK_FILE = ".capture.lock"
SESSION_MAX_BYTES = 64 << 20  # session.yaml holds the plan and every setting: generous
STORED_KEYS = ("plan", "settings", "route", "reference")  # what stored_sha256 covers
_HELD_LOCKS: dict[str, int] = {}  # session folder -> fd of its capture lock held by this process

__all__ = [
    "MANIFEST_FILE",
    "SESSION_FILE",
    "TAKES_DIR",
    "TAKE_KINDS",
    "TRAIN_DIR",
    "Session",
    "plan_hash",
    "read_manifest",
    "stored_hash",
]


def plan_hash(plan: Plan) -> str:
    canonical = json.dumps(plan.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def stored_hash(info: dict) -> str:
    """Covers the run as stored in session.yaml (plan, settings, route, reference), so an
    edit to the copy is noticed like an edit to the plan file."""
    canonical = json.dumps({k: info.get(k) for k in STORED_KEYS}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Session:
    folder: Path
    info: dict
    _orphans: Path | None = field(
        default=None, init=False, repr=False, compare=False
    )  # this run's orphans folder, once made

    # ---- creation and opening -------------------------------------------------
    @classmethod
    def create(
        cls,
        folder: Path,
        plan: Plan,
        plan_file: Path | None,
        settings: list[Setting],
        route: list[int],
        reference: Setting | None = None,
        extra: dict | None = None,
    ) -> Session:
        folder = Path(folder)
        if (folder / SESSION_FILE).exists():
            raise UserError(f"{folder} already holds a session; use --resume {folder} or choose a new --session folder")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / TAKES_DIR).mkdir(exist_ok=True)
        (folder / TRAIN_DIR).mkdir(exist_ok=True)
        info = {
            "format": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            # absolute: resume and training work from any working directory
            "plan_file": str(Path(plan_file).resolve()) if plan_file else None,
            "plan_hash": plan_hash(plan),
            "plan": plan.model_dump(mode="json", by_alias=True),
            "settings": [{"id": s.id, "values": s.values, "split": s.split} for s in settings],
            "reference": {"values": reference.values} if reference else None,
            "route": list(route),
            "versions": {"rig": __version__, "python": platform.python_version()},
            **(extra or {}),
        }
        info["stored_sha256"] = stored_hash(info)
        write_bytes_atomic(folder / SESSION_FILE, yaml.safe_dump(info, sort_keys=False).encode())
        return cls(folder, info)

    @classmethod
    def open(cls, folder: Path) -> Session:
        folder = Path(folder)
        path = folder / SESSION_FILE
        if not path.is_file():
            raise UserError(f"{folder} is not a session folder (no {SESSION_FILE}); give the folder a capture wrote")
        try:
            text = read_capped(path, SESSION_MAX_BYTES, "session file")
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}; check the folder and its permissions") from None
        info, _ = parse_yaml(text, path, what="session file")
        _check_info(path, info)
        return cls(folder, info)

    def plan(self) -> Plan:
        return Plan.model_validate(self.info["plan"])

    def plan_relative(self, name: str) -> Path | None:
        """A file the plan names (a model config, a sweep), relative to the plan file as
        recorded at capture; None when the plan file is unknown or the name is not found."""
        plan_file = self.info.get("plan_file")
        return resolve_path(Path(plan_file), name) if plan_file else None

    def settings(self) -> list[Setting]:
        return [Setting(s["id"], s["values"], s["split"]) for s in self.info["settings"]]

    @property
    def events(self) -> EventLog:
        return EventLog(self.folder / EVENTS_FILE)

    def lock(self) -> None:
        """One capture at a time per session: a second one would sweep the first one's
        temporary files. The lock goes with the process, even when it is killed; within one
        process (tests run capture after capture) it is taken once."""
        key = str(self.folder.resolve())
        if key in _HELD_LOCKS:
            return
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"another capture is writing {self.folder} right now; wait for it to end (or stop it) before resuming"
            ) from None
        _HELD_LOCKS[key] = fd

    def unlock(self) -> None:
        fd = _HELD_LOCKS.pop(str(self.folder.resolve()), None)
        if fd is not None:
            os.close(fd)

    # ---- takes -------------------------------------------------------------------
    def manifest(self) -> list[dict]:
        return read_manifest(self.folder)

    def done_setting_ids(self) -> set[int]:
        return {r["setting_id"] for r in self.manifest() if r.get("split") != "reference"}

    def take_files(self, take_id: str) -> dict[str, Path]:
        return {kind: self.folder / TAKES_DIR / f"{take_id}.{kind}.wav" for kind in TAKE_KINDS}

    @staticmethod
    def temp_path(final: Path) -> Path:
        return final.with_name(final.name + TMP_SUFFIX)

    def commit_take(self, record: dict) -> dict:
        """Commit a take whose files are written under their temporary names. The synced
        manifest line is the commit point: it is written first, naming the files and their
        checksums; the renames follow. A stop in between is finished by resume
        (finish_commits), so there is never a complete take without its line."""
        files = self.take_files(record["take_id"])
        temps = {kind: self.temp_path(p) for kind, p in files.items()}
        for tmp in temps.values():
            sync_file(tmp)
        record = {
            **record,
            "files": {k: str(p.relative_to(self.folder)) for k, p in files.items()},
            "sha256": {k: sha256_file(p) for k, p in temps.items()},
            "bytes": {k: p.stat().st_size for k, p in temps.items()},
        }
        in_the_way = [p for p in files.values() if p.exists() or p.is_symlink()]
        if in_the_way:  # never overwrite a file: a foreign one in a shared folder, say
            self.move_aside(in_the_way)
        fsync_dir(self.folder / TAKES_DIR)
        append_line_synced(self.folder / MANIFEST_FILE, json.dumps(record, separators=(",", ":")))
        for kind, tmp in temps.items():
            os.replace(tmp, files[kind])
        fsync_dir(self.folder / TAKES_DIR)
        return record

    def finish_commits(self) -> list[str]:
        """Rename the files of takes whose manifest line was written just before a stop.
        Returns the take ids completed."""
        done = []
        for record in self.manifest():
            moved = False
            for rel in record["files"].values():
                final = self.folder / rel
                tmp = self.temp_path(final)
                if not final.exists() and tmp.is_file():
                    os.replace(tmp, final)
                    moved = True
            if moved:
                done.append(record["take_id"])
        if done:
            fsync_dir(self.folder / TAKES_DIR)
        return done

    def retract(self, take_id: str, reason: str) -> None:
        """Withdraw a listed take (found damaged) so its setting is captured again."""
        line = {"take_id": take_id, "retracted": reason, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        append_line_synced(self.folder / MANIFEST_FILE, json.dumps(line, separators=(",", ":")))

    def orphans_folder(self) -> Path:
        """takes/.orphans/<time>/ for this run: where files are moved instead of deleted."""
        if self._orphans is None:
            self._orphans = self.folder / TAKES_DIR / ORPHANS_DIR / time.strftime("%Y%m%d-%H%M%S")
        return self._orphans

    def move_aside(self, paths: list[Path]) -> Path:
        dest = self.orphans_folder()
        dest.mkdir(parents=True, exist_ok=True)
        for path in paths:
            target = dest / path.name
            n = 1
            while target.exists() or target.is_symlink():
                n += 1
                target = dest / f"{path.name}.{n}"
            os.rename(path, target)
        fsync_dir(dest)
        fsync_dir(self.folder / TAKES_DIR)
        return dest

    def verify(self, ours: re.Pattern | None = None) -> list[str]:
        """Problems found, one line each: damaged or torn manifest lines, a torn event log, takes
        whose files are missing or changed, files the manifest does not list (with `ours`, only
        those named like this session's takes: a shared takes folder holds others). Empty when
        all is well. Read-only: `rig verify` prints these, resume repairs them."""
        scan = scan_manifest(self.folder)
        problems = [f"{MANIFEST_FILE} line {n}: damaged (not a take record)" for n in unnoted_damage(self.folder, scan)]
        for name, tail in ((MANIFEST_FILE, scan.torn), (EVENTS_FILE, torn_tail(self.folder / EVENTS_FILE))):
            if tail:
                problems.append(f"{name}: ends in a torn line of {len(tail)} bytes (a write was cut short)")
        for record in scan.records:
            if pending_rename(self.folder, record):
                problems.append(
                    f"take {record['take_id']}: committed but its files still carry the "
                    f"{TMP_SUFFIX} name (stopped mid-commit)"
                )
            else:
                problems += take_problems(self.folder, record)
        return problems + self._unlisted(scan.records, ours)

    def unlisted_files(self, records: list[dict]) -> list[Path]:
        """What takes/ holds that none of `records` lists (the orphans folder aside), sorted."""
        listed = {Path(rel).name for r in records for rel in r["files"].values()}
        return [
            p for p in sorted((self.folder / TAKES_DIR).iterdir()) if p.name not in listed and p.name != ORPHANS_DIR
        ]

    def _unlisted(self, records: list[dict], ours: re.Pattern | None) -> list[str]:
        if not (self.folder / TAKES_DIR).is_dir():
            return [f"{TAKES_DIR}: missing or not a folder"]
        return [
            f"{TAKES_DIR}/{p.name}: not listed in the manifest"
            for p in self.unlisted_files(records)
            if not p.name.endswith(TMP_SUFFIX) and (ours is None or ours.fullmatch(p.name))
        ]


def _check_info(path: Path, info) -> None:
    """session.yaml as the capture wrote it, or one clear line saying what is wrong."""
    fix = "restore it from a backup (the takes are untouched)"
    if not isinstance(info, dict):
        raise UserError(f"{path} is damaged (a {type(info).__name__}, not a mapping); {fix}")
    missing = [k for k in ("plan", "settings", "route") if k not in info]
    if missing:
        raise UserError(f"{path} is damaged (no {', '.join(missing)}); {fix}")
    settings, route = info["settings"], info["route"]
    if not (
        isinstance(settings, list)
        and all(isinstance(s, dict) and {"id", "values", "split"} <= s.keys() for s in settings)
    ):
        raise UserError(f"{path} is damaged (settings is not a list of {{id, values, split}}); {fix}")
    if not (isinstance(route, list) and all(isinstance(i, int) for i in route)):
        raise UserError(f"{path} is damaged (route is not a list of setting ids); {fix}")
    expected = info.get("stored_sha256")
    if expected is not None and expected != stored_hash(info):
        raise UserError(
            f"{path} was edited: its plan, settings or route no longer match its stored_sha256; "
            f"restore it as the capture wrote it (a session's plan cannot change mid-capture)"
        )
    try:
        Plan.model_validate(info["plan"])
    except ValidationError as exc:
        raise UserError(f"{path} is damaged (its plan is not valid: {exc.errors()[0]['msg']}); {fix}") from None
