"""Reading manifest.jsonl strictly: which lines are take records, which are damaged, which
takes were retracted. The file is append-only; a take found damaged is not rewritten away
but retracted by a later line ({"take_id", "retracted": reason}), and a re-recorded take
appears again after that, so readers keep the last state of each take id."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rig.session.jsonl import complete_lines, parse_json

MANIFEST_FILE = "manifest.jsonl"
DAMAGED_NOTED = MANIFEST_FILE + ".damaged"  # JSON list of damaged line numbers resume dealt with
TAKE_KINDS = ("dry", "loopback", "wet")
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass
class ManifestScan:
    records: list[dict] = field(default_factory=list)  # the takes that stand, in commit order
    damaged: list[int] = field(default_factory=list)  # 1-based numbers of lines that are no take record
    retracted: dict[str, str] = field(default_factory=dict)  # take id -> why, unless re-recorded since
    torn: bytes = b""  # an unterminated last line (a write cut short)


def is_take_record(obj) -> bool:
    """The keys every reader relies on, with the right types."""
    if not isinstance(obj, dict):
        return False
    files, sums = obj.get("files"), obj.get("sha256")
    return (
        isinstance(obj.get("take_id"), str)
        and isinstance(obj.get("setting_id"), int)
        and isinstance(obj.get("split"), str)
        and isinstance(obj.get("samples"), int)
        and isinstance(files, dict)
        and isinstance(sums, dict)
        and all(isinstance(files.get(k), str) and _SHA.fullmatch(str(sums.get(k))) for k in TAKE_KINDS)
    )


def is_retraction(obj) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("take_id"), str) and isinstance(obj.get("retracted"), str)


def parse_line(raw: bytes):
    """A JSON object, or None. A line fused from a torn fragment and a whole record (written
    by versions that did not repair torn lines) still yields the record."""
    obj = parse_json(raw)
    fused_at = raw.rfind(b'{"take_id"')
    return parse_json(raw[fused_at:]) if obj is None and fused_at > 0 else obj


def scan_manifest(folder: Path) -> ManifestScan:
    try:
        data = (Path(folder) / MANIFEST_FILE).read_bytes()
    except FileNotFoundError:
        return ManifestScan()
    lines, end = complete_lines(data)
    scan = ManifestScan(torn=data[end:])
    takes: dict[str, dict] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        obj = parse_line(raw)
        if is_take_record(obj):
            takes.pop(obj["take_id"], None)  # a re-recorded take moves to the end
            takes[obj["take_id"]] = obj
            scan.retracted.pop(obj["take_id"], None)
        elif is_retraction(obj):
            takes.pop(obj["take_id"], None)
            scan.retracted[obj["take_id"]] = obj["retracted"]
        else:
            scan.damaged.append(number)
    scan.records = list(takes.values())
    return scan


def noted_damage(folder: Path) -> set[int]:
    try:
        return set(json.loads((Path(folder) / DAMAGED_NOTED).read_text()))
    except (OSError, ValueError, TypeError):
        return set()


def unnoted_damage(folder: Path, scan: ManifestScan) -> list[int]:
    """The damaged line numbers of `scan` that resume has not dealt with yet."""
    noted = noted_damage(folder)
    return [n for n in scan.damaged if n not in noted]


def note_damage(folder: Path, lines: list[int]) -> None:
    """Remember damaged lines resume has dealt with (their takes recorded again), so that
    `rig verify` stops reporting them; the lines themselves stay, append-only."""
    from rig.session.atomic import write_bytes_atomic

    write_bytes_atomic(Path(folder) / DAMAGED_NOTED, json.dumps(sorted(noted_damage(folder) | set(lines))).encode())


def read_manifest(folder: Path) -> list[dict]:
    """The takes that stand: valid records, not retracted, last record per take id."""
    return scan_manifest(folder).records
