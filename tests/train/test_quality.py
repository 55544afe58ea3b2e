"""`rig bench quality`'s training run: a child process on a throwaway copy of the cached
session, reporting the figures the README quotes."""

from __future__ import annotations

import math

from rig.train.quality import SESSION_CODE, session_key, train_once

from .conftest import tiny_config, write_config


def test_a_bench_run_reports_its_figures_and_leaves_the_cached_session_alone(session, tmp_path):
    before = sorted(p.name for p in session.folder.rglob("*"))
    model = write_config(tmp_path, tiny_config("tcn"))
    run = train_once(session.folder, model, {"budget_minutes": 0.02}, threads=1, device="cpu")
    assert run["model"] == "tiny-tcn"
    assert run["device"] == "cpu"
    assert run["stop_reason"] == "budget"
    assert len(run["test_esr_per_setting"]) == 2
    assert math.isclose(run["test_esr_mean"], sum(r["esr"] for r in run["test_esr_per_setting"]) / 2, rel_tol=1e-3)
    assert run["test_esr_worst"] == max(r["esr"] for r in run["test_esr_per_setting"])
    assert run["steps"] >= 1
    assert run["steps_per_s"] > 0
    assert run["samples_per_s"] > 0
    assert run["peak_rss_mb"] > 50
    assert run["wall_s"] >= run["train_s"] > 0
    assert sorted(p.name for p in session.folder.rglob("*")) == before


def test_a_step_budget_trains_exactly_that_many_steps(session, tmp_path):
    model = write_config(tmp_path, tiny_config("tcn"))
    run = train_once(session.folder, model, {"budget_steps": 7}, threads=1, device="cpu")
    assert run["budget_steps"] == 7
    assert run["steps"] == 7
    assert run["stop_reason"] == "budget"


def test_the_cached_session_is_keyed_by_the_plan_and_the_code_that_renders_it(tmp_path):
    """A changed simulator or dry program must rebuild the bench session, never reuse its takes."""
    code = tmp_path / "amp.py"
    code.write_text("GAIN = 1\n")
    key = session_key("seed: 1\n", [code])
    assert session_key("seed: 1\n", [code]) == key
    assert session_key("seed: 2\n", [code]) != key
    code.write_text("GAIN = 2\n")
    assert session_key("seed: 1\n", [code]) != key
    assert {p.name for p in SESSION_CODE} >= {"amp.py", "program.py", "sources.py", "virtual.py"}
