"""Every `rig bench` part runs in its quick form and prints JSON."""

import json

import pytest

from tests.conftest import run_rig


@pytest.mark.parametrize("part", ["route", "sim", "infer"])
def test_quick_bench_prints_json(part, tmp_path):
    out = tmp_path / "bench.json"
    result = run_rig("bench", part, "--quick", "--out", str(out), timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text())
    assert printed


def test_unknown_part_is_a_usage_error():
    result = run_rig("bench", "nope")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_help_lists_every_command():
    result = run_rig("--help")
    for command in ("plan", "capture", "robot", "train", "render", "dashboard", "sim", "bench", "devices", "calibrate"):
        assert command in result.stdout
