"""Turn a plan's `settings` block into concrete knob settings with train/val/test splits.

Test settings are drawn first and removed from what training may draw, so a held-out
setting can never reach a training batch. Validation is chosen by setting, never by chunk."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from scipy.stats import qmc

from rig.errors import UserError
from rig.plan.models import Knob, Plan

DEFAULT_GRID_VALUES = 5  # values per control when a grid names none
MAX_GRID = 1_000_000


@dataclass(frozen=True)
class Setting:
    id: int
    values: dict[str, float]  # every knob, fixed ones included
    split: str  # train | val | test | reference
    key: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "key", _key(self.values))


def _key(values: dict[str, float]) -> tuple:
    return tuple(sorted((k, round(float(v), 6)) for k, v in values.items()))


def snap_to_dial(knob: Knob, value: float) -> float:
    if knob.detents:
        return min(knob.detents, key=lambda d: abs(d - value))
    return round(float(np.clip(value, knob.min, knob.max)), 3)


def with_fixed_knobs(plan: Plan, sampled: dict[str, float]) -> dict[str, float]:
    # a knob that is not sampled has `fixed` set (Knob.sampled is `fixed is None`)
    return {k.name: (sampled[k.name] if k.sampled else float(cast(float, k.fixed))) for k in plan.knobs}


def _grid_axes(plan: Plan, grid: dict[str, list[float]]) -> list[list[float]]:
    axes = []
    for knob in plan.sampled_knobs:
        if knob.name in grid:
            axes.append(sorted(set(float(v) for v in grid[knob.name])))
        elif knob.detents:
            axes.append(list(knob.detents))
        else:
            axes.append([float(v) for v in np.linspace(knob.min, knob.max, DEFAULT_GRID_VALUES)])
    return axes


def _grid(plan: Plan, grid: dict, subset: int | None, rng: np.random.Generator, exclude: set) -> list[dict]:
    names = [k.name for k in plan.sampled_knobs]
    axes = _grid_axes(plan, grid)
    size = int(np.prod([len(a) for a in axes]))
    if size > MAX_GRID:
        raise UserError(f"settings: the grid has {size} combinations (limit {MAX_GRID}); use fewer values per knob")
    combos = [dict(zip(names, c)) for c in itertools.product(*axes)]
    if subset is None:
        return combos
    combos = [c for c in combos if _key(with_fixed_knobs(plan, c)) not in exclude]
    if subset > len(combos):
        raise UserError(
            f"settings: subset {subset} is larger than the {len(combos)} grid combinations available; lower it"
        )
    picks = rng.choice(len(combos), size=subset, replace=False)
    return [combos[i] for i in sorted(picks)]


def _continuous(plan: Plan, method: str, count: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    d = len(plan.sampled_knobs)
    if method == "random":
        return rng.random((count, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol warns for counts that are not powers of two
        engine = qmc.Sobol(d, seed=seed) if method == "sobol" else qmc.LatinHypercube(d, seed=seed)
        return engine.random(count)


def unit_to_dials(plan: Plan, unit: np.ndarray) -> list[dict]:
    knobs = plan.sampled_knobs
    return [{k.name: snap_to_dial(k, k.min + u * (k.max - k.min)) for k, u in zip(knobs, row)} for row in unit]


def normalised(plan: Plan, values: dict[str, float]) -> np.ndarray:
    return np.array([k.normalise(values[k.name]) for k in plan.sampled_knobs])


def held_out_settings(plan: Plan, rng: np.random.Generator) -> list[dict]:
    test = plan.settings.test
    if test.method == "grid":
        return _grid(plan, test.grid, test.subset, rng, set())
    if test.method == "random":
        return unit_to_dials(plan, rng.random((test.count, len(plan.sampled_knobs))))
    if test.method == "list":
        missing = [(i, k.name) for i, s in enumerate(test.settings) for k in plan.sampled_knobs if k.name not in s]
        if missing:
            i, name = missing[0]
            raise UserError(f"settings.test.settings[{i}]: knob '{name}' has no value; give every sampled knob")
        return [{k.name: float(s[k.name]) for k in plan.sampled_knobs} for s in test.settings]
    return []


def _train_settings(plan: Plan, rng: np.random.Generator, test: list[dict]) -> list[dict]:
    s = plan.settings
    exclude = {_key(with_fixed_knobs(plan, t)) for t in test}
    if s.method == "grid":
        return _grid(plan, s.grid, s.subset, rng, exclude)
    out: list[dict] = []
    test_points = np.array([normalised(plan, t) for t in test]) if test else None
    attempts = 0
    while len(out) < s.count:
        attempts += 1
        if attempts > 50:
            raise UserError("settings.min_test_distance leaves no room for training settings; lower it")
        need = s.count - len(out)
        batch = unit_to_dials(plan, _continuous(plan, s.method, need, rng, s.seed + attempts - 1))
        for cand in batch:
            key = _key(with_fixed_knobs(plan, cand))
            if key in exclude:
                continue
            if test_points is not None and s.min_test_distance > 0:
                if np.min(np.linalg.norm(test_points - normalised(plan, cand), axis=1)) < s.min_test_distance:
                    continue
            exclude.add(key)
            out.append(cand)
    return out[: s.count]


def sample_settings(plan: Plan) -> list[Setting]:
    """Train and val settings first, then test; ids are their index in this list."""
    if plan.settings.method == "active":  # initial Sobol batch and val; later batches come from the trainer
        from rig.plan.active import active_settings

        return active_settings(plan)
    rng = np.random.default_rng(plan.settings.seed)
    test = held_out_settings(plan, rng)
    train = _train_settings(plan, rng, test)
    _refuse_overlap(plan, train, test)
    n_val = val_count(len(train), plan.settings.validation_fraction)
    val_idx = set(rng.choice(len(train), size=n_val, replace=False).tolist()) if n_val else set()
    out = [Setting(i, with_fixed_knobs(plan, v), "val" if i in val_idx else "train") for i, v in enumerate(train)]
    out += [Setting(len(train) + j, with_fixed_knobs(plan, v), "test") for j, v in enumerate(test)]
    return out


def val_count(n_train: int, fraction: float) -> int:
    if fraction <= 0 or n_train < 2:
        return 0
    return min(n_train - 1, max(1, round(n_train * fraction)))


def _refuse_overlap(plan: Plan, train: list[dict], test: list[dict]) -> None:
    train_keys = {_key(with_fixed_knobs(plan, t)) for t in train}
    for t in test:
        if _key(with_fixed_knobs(plan, t)) in train_keys:
            shown = ", ".join(f"{k}={v:g}" for k, v in t.items())
            raise UserError(
                f"settings.test: test setting ({shown}) also appears in training; "
                "use settings.subset so training draws around it, or change the test values"
            )


def reference_setting(plan: Plan) -> Setting:
    """The fixed drift-check setting: the plan's, or every knob mid-range (snapped to detents)."""
    given = plan.settings.reference or {}
    values = {  # a knob that is not sampled has `fixed` set
        k.name: float(given.get(k.name, snap_to_dial(k, (k.min + k.max) / 2) if k.sampled else cast(float, k.fixed)))
        for k in plan.knobs
    }
    return Setting(-1, values, "reference")


def split_counts(settings: list[Setting]) -> dict[str, int]:
    counts = {"train": 0, "val": 0, "test": 0}
    for s in settings:
        counts[s.split] = counts.get(s.split, 0) + 1
    return counts
