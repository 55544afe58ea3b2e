"""`rig bench active` on a tiny configuration (2 knobs, 1 s takes, a tiny model, 2 steps per
take): every strategy gets the same takes and training, the figures and the plot are written.
The real run (capture_plans/active_demo.yaml, TCN-45, 3 seeds) takes hours; see the README."""

from __future__ import annotations

import json
import math

from rig.cli.main import main
from rig.train.active_bench import PROJECT
from tests.capture.active_helpers import write_active_plan

from .conftest import tiny_config, write_config


def test_the_bench_compares_strategies_at_equal_takes_and_training(tmp_path, capsys):
    plan = write_active_plan(tmp_path, budget=8)  # 2 initial + 2 val, then 2 batches of 2
    plan.write_text(plan.read_text().replace("seconds: 0.5", "seconds: 1.0"))
    model = write_config(tmp_path, tiny_config("tcn"))
    out = tmp_path / "active.json"
    args = ["bench", "active", "--plan", str(plan), "--model", str(model), "--seeds", "2"]
    assert main([*args, "--steps-per-take", "2", "--threads", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result == json.loads(capsys.readouterr().out)
    runs = result["runs"]
    assert [(r["strategy"], r["seed"]) for r in runs] == [(s, n) for s in ("active", "sobol", "grid") for n in (0, 1)]
    for r in runs:  # the same take counts and the same optimizer steps for every strategy
        assert [p["takes"] for p in r["curve"]] == [4, 6, 8]
        assert [p["steps"] for p in r["curve"]] == [8, 12, 16]
        assert all(math.isfinite(p["test_esr"]) for p in r["curve"])
    signals = {r["strategy"]: [p.get("next_signal") for p in r["curve"][:-1]] for r in runs}
    assert signals["sobol"] == ["fallback", "fallback"]
    assert signals["grid"] == ["trainer", "trainer"]
    assert all(s.startswith("space-filling") or s == "prequential-gp-ucb" for s in signals["active"])
    summary = result["summary"]
    assert set(summary) == {"active", "sobol", "grid", "active_vs_sobol"}
    assert all(
        s["takes"] == [4, 6, 8] and len(s["esr_mean"]) == 3 for k, s in summary.items() if k != "active_vs_sobol"
    )
    assert (tmp_path / "active.png").stat().st_size > 1000


def test_a_plan_that_is_not_active_is_one_clear_line(capsys):
    assert main(["bench", "active", "--plan", str(PROJECT / "capture_plans" / "bench_quality.yaml")]) == 2
    assert "not active" in capsys.readouterr().err
