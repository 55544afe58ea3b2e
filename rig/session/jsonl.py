"""Append-only JSON-lines files read incrementally. A reader may see a line being written:
an unterminated last line is left for the next read."""

from __future__ import annotations

import json
from pathlib import Path


def read_jsonl(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Complete lines from byte `offset`; returns them and the offset after the last one."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for raw in data[:end].splitlines():
        if raw.strip():
            try:
                records.append(json.loads(raw))
            except json.JSONDecodeError:
                continue  # a torn line from a crash mid-append: it was never committed
    return records, offset + end
