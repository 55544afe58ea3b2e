"""NAM snapshots: a Concat LSTM frozen at one knob setting, written as a standard `.nam` file
(NAM's "LSTM" architecture) with NAM's metadata fields and the knob values that made it.

Layout of "weights" for one layer, as NAM's loader reads it: the (4H, 1+H) matrix [W_ih | W_hh]
row by row, the summed bias (4H), the initial hidden and cell states (H each, zero: our model
starts from rest), then the head's weights (H) and bias (1).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads GEAR_TYPES at start-up: keep torch, scipy, numpy out of it
    import numpy as np

    from rig.export.frozen import LSTMWeights

# 0.5.x is read by every NAM plugin core (older cores accept exactly 0.5; newer ones 0.5-0.7),
# and the LSTM layout has not changed since.
NAM_VERSION = "0.5.4"
GEAR_TYPES = ("amp", "pedal", "pedal_amp", "amp_cab", "amp_pedal_cab", "preamp", "studio")
TONE_TYPES = ("clean", "overdrive", "crunch", "hi_gain", "fuzz")


def nam_weights(w: LSTMWeights) -> np.ndarray:
    import numpy as np

    hidden = w.hidden
    rest = np.zeros(2 * hidden)  # initial hidden and cell state
    return np.concatenate([np.concatenate([w.w_ih, w.w_hh], axis=1).reshape(-1), w.bias, rest, w.head_w, [w.head_b]])


def metadata(card: dict, values: dict[str, float], gear_type: str | None, tone_type: str | None) -> dict:
    """NAM's user metadata (name, gear, tone, levels in dBu), the date, the model's test ESR and,
    under "rig", the knob values and where the snapshot came from."""
    now = datetime.now()
    levels = card.get("levels_dbu") or {}
    test = (card.get("metrics") or {}).get("test") or {}
    knobs = " ".join(f"{k}={v:g}" for k, v in values.items())
    device = card.get("device") or "model"
    return {
        "date": {
            "year": now.year,
            "month": now.month,
            "day": now.day,
            "hour": now.hour,
            "minute": now.minute,
            "second": now.second,
        },
        "name": f"{device} {knobs}".strip(),
        "modeled_by": "rig",
        "gear_type": gear_type,
        "gear_make": None,
        "gear_model": device,
        "tone_type": tone_type,
        "input_level_dbu": levels.get("send"),
        "output_level_dbu": levels.get("return"),
        "training": {"validation_esr": test.get("esr")},
        "rig": {
            "knobs": values,
            "fixed_knobs": card.get("fixed_knobs", {}),
            "model": card.get("name"),
            "test_esr": test.get("esr"),
            "session": card.get("session"),
        },
    }


def nam_document(w: LSTMWeights, sample_rate: int, meta: dict) -> dict:
    return {
        "version": NAM_VERSION,
        "metadata": meta,
        "architecture": "LSTM",
        "config": {"input_size": 1, "hidden_size": w.hidden, "num_layers": 1},
        "weights": nam_weights(w).tolist(),
        "sample_rate": float(sample_rate),
    }


def write_nam(path: Path, document: dict) -> Path:
    from rig.session.atomic import write_bytes_atomic

    write_bytes_atomic(path, json.dumps(document).encode())
    return path
