"""`rig export --nam` / `--proteus`: knob settings (one, or a swept grid), file names, and the
files written from a loaded model."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from rig.errors import UserError
from rig.export import nam, proteus
from rig.export.frozen import lstm_weights, require_plain_lstm
from rig.train.render import Loaded, controls, parse_settings

MAX_SNAPSHOTS = 1000


def parse_sweep(text: str, knobs: list[dict]) -> tuple[str, list[float]]:
    """'gain=0:10:11' -> ('gain', [0, 1, ..., 10]): start, stop and count, both ends included."""
    name, sep, spec = text.partition("=")
    name, parts = name.strip(), spec.split(":")
    if not sep or len(parts) != 3:
        raise UserError(f"--sweep {text!r}: write name=start:stop:count, e.g. --sweep gain=0:10:11")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UserError(f"--sweep {text!r}: start and stop must be numbers and count a whole number") from None
    if count < 1:
        raise UserError(f"--sweep {text!r}: count must be at least 1")
    values = [float(v) for v in np.linspace(start, stop, count)]
    for v in (start, stop):  # the range check of --set, with its message
        parse_settings(f"{name}={v:.17g}", knobs)
    return name, values


def settings_list(loaded: Loaded, settings: str, sweeps: list[str]) -> list[dict[str, float]]:
    base = parse_settings(settings, loaded.knobs)
    axes = [parse_sweep(s, loaded.knobs) for s in sweeps]
    names = [n for n, _ in axes]
    if len(set(names)) != len(names):
        raise UserError("--sweep: a knob is swept twice; give each knob one --sweep")
    total = int(np.prod([len(v) for _, v in axes])) if axes else 1
    if total > MAX_SNAPSHOTS:
        raise UserError(f"--sweep makes {total} snapshots (limit {MAX_SNAPSHOTS}); use fewer steps")
    return [{**base, **dict(zip(names, combo))} for combo in itertools.product(*(v for _, v in axes))]


def snapshot_name(model: str, values: dict[str, float]) -> str:
    """'lstm-c-32-nam', {gain: 6, bass: 4.5} -> 'lstm-c-32-nam_gain6_bass4.5.nam'."""
    parts = "_".join(f"{k}{v:g}" for k, v in values.items())
    return re.sub(r"[^A-Za-z0-9_.+-]", "-", f"{model}_{parts}" if parts else model) + ".nam"


def export_nam(
    loaded: Loaded,
    settings: str,
    sweeps: list[str],
    out_dir: Path,
    gear_type: str | None = None,
    tone_type: str | None = None,
) -> list[Path]:
    model = require_plain_lstm(loaded.model, "NAM", skip=False)
    out_dir = _folder(out_dir)
    written = []
    for values in settings_list(loaded, settings, sweeps):
        w = lstm_weights(model, controls(values, loaded.knobs)[0])
        meta = nam.metadata({"name": loaded.name, **loaded.card}, values, gear_type, tone_type)
        doc = nam.nam_document(w, loaded.sample_rate, meta)
        written.append(nam.write_nam(out_dir / snapshot_name(loaded.name, values), doc))
    return written


def export_proteus(loaded: Loaded, out_path: Path) -> Path:
    model = require_plain_lstm(loaded.model, "Proteus", skip=True)
    w = lstm_weights(model)
    proteus.check_fits(w, len(loaded.knobs))
    if out_path.suffix.lower() != ".json" or out_path.is_dir():
        raise UserError(f"--out {out_path}: Proteus reads a .json file; give a path ending in .json")
    _folder(out_path.parent)
    doc = proteus.proteus_document(w, [k["name"] for k in loaded.knobs], loaded.sample_rate)
    return proteus.write_proteus(out_path, doc)


def _folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path} is a file; give a folder for the snapshots")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {path} ({exc.strerror}); give a writable folder") from None
    return path
