"""Active plans (settings.method: active): the settings recorded before any proposal, the
budget, and one clear line for each bad combination."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rig.errors import UserError
from rig.plan import load_plan, sample_settings, split_counts
from rig.plan.active import budget_takes, proposed_takes, sobol_after
from tests.conftest import ROOT, run_rig

HEAD = """\
version: 1
knobs:
  - {name: gain, axis: 0}
  - {name: treble, axis: 1}
take: {seconds: 10, pre_roll_s: 0.3, post_roll_s: 0.3}
settings:
"""


def plan_with(tmp_path: Path, settings: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + settings)
    return path


def test_the_demo_records_test_then_initial_and_val():
    plan = load_plan(ROOT / "capture_plans" / "active_demo.yaml")
    settings = sample_settings(plan)
    assert split_counts(settings) == {"train": 16, "val": 6, "test": 8}
    assert budget_takes(plan) == 48
    assert proposed_takes(plan) == 48 - 16 - 6
    test = np.array([[s.values[k.name] / 10 for k in plan.sampled_knobs] for s in settings if s.split == "test"])
    for s in settings:
        if s.split != "test":
            point = np.array([s.values[k.name] / 10 for k in plan.sampled_knobs])
            assert np.min(np.linalg.norm(test - point, axis=1)) >= 0.1
    # the fallback continues the same sequence: never a point already taken
    more = sobol_after(plan, [s.values for s in settings], 8)
    assert not {tuple(m.values()) for m in more} & {tuple(s.values.values()) for s in settings}


def test_budget_minutes_buys_takes(tmp_path):
    plan = load_plan(plan_with(tmp_path, "  method: active\n  active: {initial: 4, batch: 2, budget_minutes: 5}\n"))
    assert budget_takes(plan) == int(5 * 60 // (10.6 + 2.0))  # take length plus the move allowance


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ("  method: active\n", "settings.active is missing"),
        ("  method: sobol\n  active: {initial: 4, batch: 2, budget_takes: 20}\n", "method is sobol"),
        ("  method: active\n  active: {initial: 4, batch: 2}\n", "exactly one of budget_takes and budget_minutes"),
        (
            "  method: active\n  active: {initial: 4, batch: 2, budget_takes: 20, budget_minutes: 9}\n",
            "exactly one of",
        ),
        ("  method: active\n  active: {initial: 0, batch: 2, budget_takes: 20}\n", "initial"),
        ("  method: active\n  active: {initial: 4, batch: 2, budget_takes: 20, min_distance: 2}\n", "min_distance"),
        ("  method: active\n  grid: {gain: [1, 2]}\n  active: {initial: 4, batch: 2, budget_takes: 20}\n", "grid"),
    ],
)
def test_bad_active_plans_fail_in_one_line(tmp_path, settings, says):
    with pytest.raises(UserError, match=says) as err:
        load_plan(plan_with(tmp_path, settings))
    assert "\n" not in str(err.value)


def test_a_budget_with_nothing_to_propose_is_refused(tmp_path):
    plan = load_plan(plan_with(tmp_path, "  method: active\n  active: {initial: 18, batch: 2, budget_takes: 20}\n"))
    with pytest.raises(UserError, match="leaves none for proposed batches"):
        sample_settings(plan)


def test_rig_plan_shows_the_initial_batch_and_budget():
    r = run_rig("plan", "capture_plans/active_demo.yaml", "--no-route", "--json")
    assert r.returncode == 0, r.stderr
    active = json.loads(r.stdout)["active"]
    assert (active["budget_takes"], active["batch"], active["total_takes"]) == (48, 8, 56)
    assert len(active["initial"]) == 22
    assert {row["split"] for row in active["initial"]} == {"train", "val"}
    text = run_rig("plan", "capture_plans/active_demo.yaml", "--no-route")
    assert text.returncode == 0
    assert "budget 48 takes" in text.stdout
    assert "initial batch" in text.stdout
