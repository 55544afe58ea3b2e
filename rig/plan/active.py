"""Settings of an active plan (settings.method: active): the held-out test settings, the
initial Sobol batch and the validation set, the take budget, and the Sobol points a capture
falls back to when no proposal comes. All Sobol draws walk one scrambled sequence (seeded by
settings.seed) and skip points closer than active.min_distance to what is already taken, so
initial, val and every fallback batch together stay space-filling and never near a test setting."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np
from scipy.stats import qmc

from rig.errors import UserError
from rig.plan.models import Active, Plan
from rig.plan.sample import Setting, held_out_settings, normalised, unit_to_dials, val_count, with_fixed_knobs
from rig.plan.summary import take_seconds

MOVE_ALLOWANCE_S = 2.0  # per take, for budget_minutes: a move, settle and writing the take
MAX_SOBOL_POINTS = 1 << 20  # how far a fallback walks the sequence before giving up


def active_block(plan: Plan) -> Active:
    if plan.settings.active is None:
        raise UserError("this plan is not active (settings.method is not active)")
    return plan.settings.active


def take_slot_s(plan: Plan) -> float:
    """The estimated time one active take costs: its audio plus MOVE_ALLOWANCE_S."""
    return take_seconds(plan) + MOVE_ALLOWANCE_S


def budget_takes(plan: Plan) -> int:
    """Train + val takes in all: budget_takes, or budget_minutes over the estimated time per take."""
    a = active_block(plan)
    if a.budget_takes is not None:
        return a.budget_takes
    assert a.budget_minutes is not None  # Active's validator requires one of the two
    return int(a.budget_minutes * 60.0 // take_slot_s(plan))


def val_takes(plan: Plan) -> int:
    return val_count(budget_takes(plan), plan.settings.validation_fraction)


def proposed_takes(plan: Plan) -> int:
    """Takes left for proposed (or fallback) batches once the initial and val sets are in."""
    a, budget = active_block(plan), budget_takes(plan)
    left = budget - a.initial - val_takes(plan)
    if left <= 0:
        why = f"budget_minutes {a.budget_minutes:g} buys about {budget} takes" if a.budget_takes is None else ""
        raise UserError(
            f"settings.active: the budget of {budget} takes {('(' + why + ') ') if why else ''}leaves none for "
            f"proposed batches after initial {a.initial} and {val_takes(plan)} val; raise the budget or lower initial"
        )
    return left


def too_close(point: np.ndarray, others: np.ndarray, distance: float) -> bool:
    return bool(len(others)) and float(np.min(np.linalg.norm(others - point, axis=1))) < distance


def sobol_after(plan: Plan, taken: Iterable[dict[str, float]], count: int) -> list[dict[str, float]]:
    """The first `count` points of the plan's Sobol sequence (snapped to the dials, every knob
    given) that keep min_distance from every setting in `taken` (test settings included) and
    from each other. Raises UserError when the knob space is used up at that distance."""
    a, d = active_block(plan), len(plan.sampled_knobs)
    kept = [normalised(plan, v) for v in taken]
    engine = _engine(d, plan.settings.seed)
    out: list[dict[str, float]] = []
    drawn = 0
    while len(out) < count and drawn < MAX_SOBOL_POINTS:
        chunk = unit_to_dials(plan, engine.random(256))
        drawn += 256
        for cand in chunk:
            point = normalised(plan, cand)
            if too_close(point, np.array(kept), max(a.min_distance, 1e-9)):
                continue
            kept.append(point)
            out.append(with_fixed_knobs(plan, cand))
            if len(out) == count:
                break
    if len(out) < count:
        raise UserError(
            f"settings.active.min_distance {a.min_distance:g} leaves no room for {count} more settings; lower it"
        )
    return out


def _engine(d: int, seed: int) -> qmc.Sobol:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol warns for draws that are not powers of two
        return qmc.Sobol(d, seed=seed)


def active_settings(plan: Plan) -> list[Setting]:
    """Initial train settings, then val, then test; ids are their index here, as
    sample_settings numbers them. Proposed settings get ids after these (first_proposed_id)."""
    proposed_takes(plan)  # refuse a budget that leaves nothing to propose, before anything moves
    rng = np.random.default_rng(plan.settings.seed)
    test = [with_fixed_knobs(plan, t) for t in held_out_settings(plan, rng)]
    initial = sobol_after(plan, test, active_block(plan).initial)
    val = sobol_after(plan, test + initial, val_takes(plan))
    out = [Setting(i, v, "train") for i, v in enumerate(initial)]
    out += [Setting(len(out) + j, v, "val") for j, v in enumerate(val)]
    out += [Setting(len(out) + j, v, "test") for j, v in enumerate(test)]
    return out


def proposed_id(first_id: int, batch_size: int, batch: int, position: int) -> int:
    """Stable setting id of the `position`-th setting (0-based) of batch `batch` (1-based):
    it depends on nothing else, so a batch re-read after a crash gets the same ids."""
    return first_id + (batch - 1) * batch_size + position


def proposed_label(batch: int, position: int) -> str:
    return f"a{batch:02d}-{position + 1:02d}"


def batches_needed(plan: Plan) -> int:
    return math.ceil(proposed_takes(plan) / active_block(plan).batch)
