"""The session directory: the one contract between capture, trainer and dashboard
(layout in docs/CONTRACTS.md and README.md)."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from rig import __version__
from rig.errors import UserError
from rig.plan import Plan, Setting
from rig.session.atomic import TMP_SUFFIX, append_line_synced, commit_file, sha256_file, write_bytes_atomic
from rig.session.events import EVENTS_FILE, EventLog
from rig.session.jsonl import read_jsonl

SESSION_FILE = "session.yaml"
MANIFEST_FILE = "manifest.jsonl"
TAKES_DIR = "takes"
TRAIN_DIR = "train"
TAKE_KINDS = ("dry", "loopback", "wet")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on long setting lists


def plan_hash(plan: Plan) -> str:
    canonical = json.dumps(plan.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_manifest(folder: Path) -> list[dict]:
    records, _ = read_jsonl(Path(folder) / MANIFEST_FILE)
    return records


@dataclass
class Session:
    folder: Path
    info: dict

    # ---- creation and opening -------------------------------------------------
    @classmethod
    def create(cls, folder: Path, plan: Plan, plan_file: Path | None, settings: list[Setting],
               route: list[int], reference: Setting | None = None, extra: dict | None = None) -> Session:
        folder = Path(folder)
        if (folder / SESSION_FILE).exists():
            raise UserError(f"{folder} already holds a session; use --resume {folder} or choose a new --session folder")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / TAKES_DIR).mkdir(exist_ok=True)
        (folder / TRAIN_DIR).mkdir(exist_ok=True)
        info = {
            "format": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "plan_file": str(plan_file) if plan_file else None,
            "plan_hash": plan_hash(plan),
            "plan": plan.model_dump(mode="json", by_alias=True),
            "settings": [{"id": s.id, "values": s.values, "split": s.split} for s in settings],
            "reference": {"values": reference.values} if reference else None,
            "route": list(route),
            "versions": {"rig": __version__, "python": platform.python_version()},
            **(extra or {}),
        }
        write_bytes_atomic(folder / SESSION_FILE, yaml.safe_dump(info, sort_keys=False).encode())
        return cls(folder, info)

    @classmethod
    def open(cls, folder: Path) -> Session:
        folder = Path(folder)
        path = folder / SESSION_FILE
        if not path.exists():
            raise UserError(f"{folder} is not a session folder (no {SESSION_FILE}); give the folder a capture wrote")
        try:
            info = yaml.load(path.read_text(), Loader=_YAML_LOADER)
        except yaml.YAMLError:
            raise UserError(f"{path} is damaged (not YAML); restore it or start a new session") from None
        return cls(folder, info)

    def plan(self) -> Plan:
        return Plan.model_validate(self.info["plan"])

    def settings(self) -> list[Setting]:
        return [Setting(s["id"], s["values"], s["split"]) for s in self.info["settings"]]

    @property
    def events(self) -> EventLog:
        return EventLog(self.folder / EVENTS_FILE)

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
        """Move a take's synced temp files into place, then append its manifest line.
        Only after the line is synced does the take exist for readers."""
        files = self.take_files(record["take_id"])
        for final in files.values():
            commit_file(self.temp_path(final), final)
        record = {
            **record,
            "files": {k: str(p.relative_to(self.folder)) for k, p in files.items()},
            "sha256": {k: sha256_file(p) for k, p in files.items()},
        }
        append_line_synced(self.folder / MANIFEST_FILE, json.dumps(record, separators=(",", ":")))
        return record

    def remove_partials(self) -> list[Path]:
        """Delete temp files and take files no manifest line lists (left by a crash)."""
        listed = {f for r in self.manifest() for f in r["files"].values()}
        removed = []
        for path in sorted((self.folder / TAKES_DIR).iterdir()):
            if str(path.relative_to(self.folder)) not in listed:
                path.unlink()
                removed.append(path)
        return removed

    def verify(self) -> list[str]:
        """Problems found: missing files or checksum mismatches (empty when all is well)."""
        problems = []
        for record in self.manifest():
            for kind, rel in record["files"].items():
                path = self.folder / rel
                if not path.exists():
                    problems.append(f"{rel}: missing")
                elif sha256_file(path) != record["sha256"][kind]:
                    problems.append(f"{rel}: checksum mismatch")
        return problems
