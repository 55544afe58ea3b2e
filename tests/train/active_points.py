"""A tiny active session with synthetic prequential points whose error is high near CORNER:
what the proposer's tests and the dashboard's knob-space test start from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from rig.plan import load_plan
from rig.train.acquisition import PREQUENTIAL_FILE, Point
from rig.train.testing import make_session
from tests.capture.active_helpers import write_active_plan

CORNER = np.array([1.0, 1.0])  # gain 10, treble 10: where the synthetic error is high


def active_session(tmp_path: Path, batch: int = 2, budget: int = 7, commit: bool = False, knob: str = "treble"):
    """The tiny active plan (tests/capture/active_helpers.py) with another batch size; `knob`
    renames treble (the synthetic device of rig/train/testing.py knows gain and tone)."""
    path = write_active_plan(tmp_path, budget=budget)
    path.write_text(path.read_text().replace("batch: 2", f"batch: {batch}").replace("treble", knob))
    return make_session(tmp_path / "s", load_plan(path), commit=commit)


def write_points(out: Path, grid: int = 6, height: float = 2.5, ref: float = 0.05) -> None:
    """Synthetic prequential points on a grid: log(ESR / reference) is `height` higher near
    CORNER, plus measurement noise (0.05)."""
    rng = np.random.default_rng(0)
    out.mkdir(parents=True)
    with open(out / PREQUENTIAL_FILE, "w") as f:
        for i, x in enumerate(np.stack(np.meshgrid(*[np.linspace(0, 1, grid)] * 2), -1).reshape(-1, 2)):
            rel = height * math.exp(-float(np.sum((x - CORNER) ** 2)) / 0.15) + 0.05 * rng.standard_normal()
            p = Point(f"t{i}", 1000 + i, "train", [float(v) for v in x], ref * math.exp(rel), ref, 3)
            f.write(json.dumps(p.__dict__) + "\n")


def norm(values: dict) -> np.ndarray:
    return np.array([values["gain"], values["treble"]]) / 10
