"""Sampling: reproducible by seed, within ranges and detents, held-out settings never in
train/val, validation chosen by setting."""

import numpy as np
import pytest

from rig.plan import Plan, reference_setting, sample_settings


def make_plan(**settings) -> Plan:
    return Plan.model_validate(
        {
            "knobs": [
                {"name": "bass", "axis": 0},
                {"name": "gain", "axis": 1, "min": 1, "max": 5},
                {"name": "channel", "axis": 2, "max": 2, "detents": [0, 1, 2]},
                {"name": "volume", "fixed": 7},
            ],
            "settings": settings,
            "train": {"models": []},
        }
    )


@pytest.mark.parametrize("method", ["random", "sobol", "lhs"])
def test_reproducible_and_in_range(method):
    plan = make_plan(method=method, count=50, seed=4, test={"method": "random", "count": 5})
    a, b = sample_settings(plan), sample_settings(plan)
    assert a == b
    other = sample_settings(make_plan(method=method, count=50, seed=5, test={"method": "random", "count": 5}))
    assert [s.values for s in a] != [s.values for s in other]
    for s in a:
        assert 0 <= s.values["bass"] <= 10
        assert 1 <= s.values["gain"] <= 5
        assert s.values["channel"] in (0, 1, 2)
        assert s.values["volume"] == 7


def test_grid_full_product_and_subset():
    full = sample_settings(make_plan(method="grid", grid={"bass": [0, 5, 10], "gain": [1, 3]}, validation_fraction=0))
    assert len(full) == 3 * 2 * 3  # channel defaults to its detents
    sub = sample_settings(make_plan(method="grid", grid={"bass": [0, 5, 10], "gain": [1, 3]}, subset=7))
    assert len(sub) == 7
    assert len({s.key for s in sub}) == 7


def test_test_settings_never_in_train_or_val():
    plan = make_plan(
        method="grid",
        grid={"bass": [0, 5, 10], "gain": [1, 3, 5]},
        subset=20,
        test={"method": "grid", "grid": {"bass": [0, 5], "gain": [3]}},
    )
    settings = sample_settings(plan)
    test = {s.key for s in settings if s.split == "test"}
    train = {s.key for s in settings if s.split in ("train", "val")}
    assert len(test) == 2 * 1 * 3
    assert not test & train


def test_min_test_distance_keeps_training_away():
    plan = make_plan(method="random", count=60, min_test_distance=0.15, test={"method": "random", "count": 3})
    settings = sample_settings(plan)
    knobs = [k for k in plan.sampled_knobs]
    norm = lambda s: np.array([k.normalise(s.values[k.name]) for k in knobs])  # noqa: E731
    tests = [norm(s) for s in settings if s.split == "test"]
    for s in settings:
        if s.split != "test":
            assert min(np.linalg.norm(norm(s) - t) for t in tests) >= 0.15


def test_validation_by_setting():
    settings = sample_settings(make_plan(method="random", count=40, validation_fraction=0.25))
    val = [s for s in settings if s.split == "val"]
    assert len(val) == 10
    assert [s.id for s in settings] == list(range(len(settings)))


def test_reference_is_mid_range_snapped():
    ref = reference_setting(make_plan())
    assert ref.values == {"bass": 5.0, "gain": 3.0, "channel": 1.0, "volume": 7.0}
