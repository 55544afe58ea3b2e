"""Plan loading: the shipped plans load with the counts they promise; bad plans fail with
one line naming file, field and line."""

from pathlib import Path

import pytest
import yaml

from rig.errors import UserError
from rig.plan import load_plan, sample_settings, split_counts
from tests.conftest import ROOT, run_rig

PLANS = ROOT / "capture_plans"


def test_marshall_counts_match_plan():
    plan = load_plan(PLANS / "marshall_jvm.yaml")
    counts = split_counts(sample_settings(plan))
    assert counts == {"train": 180, "val": 20, "test": 24}
    assert [k.name for k in plan.sampled_knobs] == ["bass", "middle", "treble", "gain"]
    assert plan.knob("volume").fixed == 5


@pytest.mark.parametrize("name", ["marshall_jvm", "fuzz_pedal", "demo"])
def test_shipped_plans_load(name):
    plan = load_plan(PLANS / f"{name}.yaml")
    assert sample_settings(plan)


def test_minimal_plan_uses_defaults(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("knobs: [{name: gain, axis: 0}]\ntrain: {models: []}\n")
    plan = load_plan(f)
    assert plan.take.gain.every_s == 5
    assert plan.take.gain.min_db == -20
    assert plan.audio.sample_rate == 48000
    assert len(sample_settings(plan)) == plan.settings.count


BAD = {
    "typo": ("knobs: [{name: gain, axis: 0}]\nsetings: {count: 3}\n", "unknown key 'setings'", 2),
    "range": (
        "knobs: [{name: gain, axis: 0}]\nsettings:\n  method: grid\n  grid: {gain: [1, 12]}\n",
        "outside the dial range",
        4,
    ),
    "negative": ("knobs: [{name: gain, axis: 0}]\ntake:\n  seconds: -3\n", "take.seconds", 3),
    "not_yaml": ("knobs: [{name: gain\n", "not valid YAML", None),
    "not_mapping": ("- just\n- a list\n", "must be a YAML mapping", None),
    "overlap": (
        "knobs: [{name: gain, axis: 0}]\nsettings:\n  method: grid\n  grid: {gain: [0, 5, 10]}\n"
        "  test: {method: list, settings: [{gain: 5}]}\n",
        "also appears in training",
        None,
    ),
    "unknown_knob": (
        "knobs: [{name: gain, axis: 0}]\nsettings: {method: grid, grid: {bass: [1]}}\n",
        "unknown knob 'bass'",
        None,
    ),
    "missing_model": (
        "knobs: [{name: gain, axis: 0}]\ntrain: {models: [models/nope.yaml]}\n",
        "models/nope.yaml not found",
        None,
    ),
    "detent": (
        "knobs: [{name: ch, axis: 0, detents: [0, 5, 10]}]\nsettings: {method: grid, grid: {ch: [4]}}\n",
        "not one of the detents",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plans_give_one_line(tmp_path, case):
    text, expected, line = BAD[case]
    f = tmp_path / f"{case}.yaml"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        sample_settings(load_plan(f))  # either step may refuse the plan
    msg = str(err.value)
    assert expected in msg
    assert "\n" not in msg
    assert str(f) in msg or case == "overlap"
    if line:
        assert f"line {line}" in msg


def test_cli_bad_plan_exit_2_without_traceback(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("knobs: [{name: gain, axis: 0, max: -1}]\n")
    result = run_rig("plan", str(f), "--no-route")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "knobs[0]" in result.stderr


def test_cli_missing_file(tmp_path):
    result = run_rig("plan", str(tmp_path / "nope.yaml"), "--no-route")
    assert result.returncode == 2
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_plan_json_counts():
    import json

    result = run_rig("plan", str(PLANS / "marshall_jvm.yaml"), "--json", "--no-route")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["settings"] == {"train": 180, "val": 20, "test": 24}
    assert summary["audio_minutes"] == pytest.approx(224 * summary["take_seconds"] / 60, abs=0.01)


def test_yaml_is_loaded_safely(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("knobs: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_plan(f)


def test_plan_round_trips_through_yaml(tmp_path):
    plan = load_plan(PLANS / "demo.yaml")
    f = tmp_path / "copy.yaml"
    f.write_text(yaml.safe_dump(plan.model_dump(mode="json", by_alias=True)))
    assert load_plan(f).model_dump() == plan.model_dump()


def test_directory_given(tmp_path: Path):
    with pytest.raises(UserError, match="is a folder"):
        load_plan(tmp_path)
