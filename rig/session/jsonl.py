"""Append-only JSON-lines files read incrementally. A reader may see a line being written:
an unterminated last line is left for the next read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def complete_lines(data: bytes) -> tuple[list[bytes], int]:
    """The newline-terminated lines of `data` and the number of bytes they span."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1], end


def parse_json(raw: bytes):
    """The JSON value of one line, or None for a torn or damaged line (never committed)."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def read_jsonl(path: Path, offset: int = 0, parse: Callable[[bytes], object] = parse_json) -> tuple[list, int]:
    """Complete lines from byte `offset`, parsed (lines `parse` refuses are skipped); returns
    them and the offset after the last one."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    lines, end = complete_lines(data)
    records = [obj for obj in (parse(raw) for raw in lines if raw.strip()) if obj is not None]
    return records, offset + end
