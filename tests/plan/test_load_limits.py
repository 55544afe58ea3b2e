"""Runaway plans: a YAML alias bomb and oversized files are refused with one line (never
expanded, never read whole); an empty grid list is refused instead of giving 0 settings;
a bad value is shown briefly however large it is."""

from __future__ import annotations

import pytest

from rig.errors import UserError
from rig.plan import load_plan
from rig.plan.load import PLAN_MAX_BYTES
from tests.conftest import run_rig

BASE = "knobs:\n  - {name: bass, axis: 0}\n  - {name: gain, axis: 1}\n"


def test_an_alias_bomb_is_refused_in_one_line(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text(BASE + "\n".join(lines) + "\n")
    result = run_rig("plan", str(path), timeout=60)  # expanded, this is 10^9 values
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "expands to more than" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_too_large_for_a_plan_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "w") as f:
        f.write(BASE + "notes: |\n")
        f.write(("  " + "x" * 98 + "\n") * (PLAN_MAX_BYTES // 100 + 10))
    with pytest.raises(UserError, match="larger than 1 MB"):
        load_plan(path)


def test_a_long_but_reasonable_plan_loads(tmp_path):
    settings = "\n".join(f"      - {{bass: {i % 10}, gain: {(i // 10) % 10}}}" for i in range(5000))
    path = tmp_path / "long.yaml"
    path.write_text(BASE + "settings:\n  test:\n    method: list\n    settings:\n" + settings + "\n")
    assert len(load_plan(path).settings.test.settings) == 5000


def test_an_empty_grid_list_is_refused(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(BASE + "settings:\n  method: grid\n  grid: {bass: [], gain: [1, 2]}\n")
    with pytest.raises(UserError, match=r"line \d+: settings.grid.bass: an empty list"):
        load_plan(path)


def test_a_huge_bad_value_is_shown_briefly(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + "take: {seconds: [" + ", ".join(["1"] * 200_000) + "]}\n")
    with pytest.raises(UserError) as err:
        load_plan(path)
    assert len(str(err.value)) < 300
    assert "take.seconds" in str(err.value)
