"""Sweep files (`sweeps/*.yaml`): which model configs to train, and the values to try for
their training settings. Every combination of the listed values is one trial; a range
(`{low, high}`) is sampled `samples` times. Unknown keys are errors.

    models: [models/tcn-tvf-45-s-16.yaml, models/lstm-c-32.yaml]
    lr: [0.005, 0.001]          # absent: each config's own learning rate
    segment_s: [0.25, 0.5]
    loss_l1: [10.0]
    loss_mrstft: [0.0, 1.0]
    asha: {grace_epochs: 4, reduction_factor: 3}
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import random
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rig.errors import UserError
from rig.session import Session

SWEEPS_DIR = Path(__file__).resolve().parents[2] / "sweeps"
SWEPT = ("lr", "segment_s", "loss_l1", "loss_mrstft")  # the training settings a sweep may vary


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(Strict):
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    log: bool = True  # learning rates span decades

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def draw(self, rng: random.Random) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return rng.uniform(self.low, self.high)


Values = list[float] | Range | None


class Asha(Strict):
    grace_epochs: int = Field(4, ge=1, description="epochs every trial gets before it may be stopped")
    reduction_factor: float = Field(3.0, gt=1, description="keep the best 1/factor at each rung")


class SweepFile(Strict):
    models: list[str] = Field(min_length=1)
    lr: Values = None
    segment_s: Values = None
    loss_l1: Values = None
    loss_mrstft: Values = None
    samples: int = Field(1, ge=1, le=1000, description="draws per combination when a value is a range")
    seed: int = 0
    max_failures: int = Field(3, ge=0, description="restarts of a trial whose process or node died")
    max_epochs: int | None = Field(None, ge=1)
    asha: Asha = Field(default_factory=Asha)
    _source: Path | None = None

    @model_validator(mode="after")
    def _non_empty(self) -> SweepFile:
        for key in SWEPT:
            value = getattr(self, key)
            if isinstance(value, list) and not value:
                raise ValueError(f"{key}: give at least one value (or leave it out)")
            if isinstance(value, list) and any(v <= 0 for v in value):
                raise ValueError(f"{key}: values must be positive")
        return self

    def combinations(self) -> list[dict[str, float]]:
        """One dict of overrides per trial and model-independent: lists are crossed, ranges
        drawn (seeded, so a rerun resumes the same trials)."""
        rng = random.Random(self.seed)
        keys = [k for k in SWEPT if getattr(self, k) is not None]
        has_range = any(isinstance(getattr(self, k), Range) for k in keys)
        out = []
        for _ in range(self.samples if has_range else 1):
            lists = [v if isinstance(v := getattr(self, k), list) else [v] for k in keys]
            for combo in itertools.product(*lists):
                out.append({k: (v.draw(rng) if isinstance(v, Range) else float(v)) for k, v in zip(keys, combo)})
        return out


def load_sweep(path: Path | str) -> SweepFile:
    path = Path(path)
    if not path.is_file() and (SWEEPS_DIR / path).is_file():
        path = SWEEPS_DIR / path
    try:
        data: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"cannot read sweep file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        sweep = SweepFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise UserError(f"{path}: {where}: {err['msg']}") from None
    sweep._source = path.resolve()
    return sweep


def plan_sweep(session: Session, follow: bool) -> SweepFile | None:
    """The sweep a session's plan asks for: its train.sweep file, else (the capture's automatic
    training of several models, with Ray installed) its models at their own learning rates."""
    train = session.plan().train
    if train.sweep:
        found = session.plan_relative(train.sweep)
        return load_sweep(found if found is not None and found.is_file() else train.sweep)
    if follow and len(train.models) > 1 and importlib.util.find_spec("ray") is not None:
        from rig.train.run import locate_plan_model

        return SweepFile(models=[str(locate_plan_model(session, m).resolve()) for m in train.models])
    return None


def model_paths(sweep: SweepFile) -> list[Path]:
    """The sweep's model configs, relative to the sweep file first, then to the project."""
    base = sweep._source.parent if sweep._source else Path.cwd()
    found = []
    for name in sweep.models:
        for candidate in (base / name, SWEEPS_DIR.parent / name, Path(name)):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            raise UserError(f"model config {name} (from the sweep file) not found")
    return found
