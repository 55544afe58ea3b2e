"""Ray Tune sweeps on a tiny session: a local Ray shared by the tests of this module."""

from __future__ import annotations

import json

import pytest
import yaml

from rig.errors import UserError
from rig.session import TRAIN_DIR
from rig.train.sweep_file import load_sweep
from tests.train.conftest import events, quick_options, tiny_config, write_config

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 * 1024, log_to_driver=False)
    yield
    ray.shutdown()


def sweep_file(tmp_path, lrs=(0.01, 0.005, 0.002, 0.001), **extra):
    cfg = write_config(tmp_path, tiny_config("lstm"))
    data = {"models": [str(cfg)], "lr": list(lrs), "max_epochs": 3, "asha": {"grace_epochs": 1}, **extra}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_sweep(path)


def test_bad_sweep_file_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("models: []\nlr: [0.01]\n")
    with pytest.raises(UserError, match="models"):
        load_sweep(path)
    path.write_text("models: [x.yaml]\nlearning_rate: [0.01]\n")
    with pytest.raises(UserError, match="learning_rate"):
        load_sweep(path)


@pytest.mark.usefixtures("local_ray")
def test_four_trials_on_a_local_ray(session, tmp_path):
    from rig.train.sweep import SweepOptions, run_sweep

    folder = session.folder
    out = run_sweep(folder, sweep_file(tmp_path), quick_options(max_epochs=3), SweepOptions(concurrent=2, threads=1))
    assert len(out["trials"]) == 4
    assert out["best"] in {t["trial"] for t in out["trials"]}
    assert all(t["epochs"] >= 1 for t in out["trials"])
    assert out["result"] is not None
    assert out["result"].status == "finished"
    report = (folder / TRAIN_DIR / "sweep" / "report.md").read_text()
    assert "| trial |" in report
    assert (folder / TRAIN_DIR / "sweep" / "sweep_curves.png").exists()
    assert (folder / TRAIN_DIR / out["best"] / "export").is_dir()
    started = {e["model"] for e in events(folder, "train_started")}
    assert started == {t["trial"] for t in out["trials"]}  # one dashboard row per trial
    finished = {e["model"] for e in events(folder, "train_finished")}
    assert finished == started
    ended = [t for t in out["trials"] if t["status"] == "finished"]
    assert ended  # ASHA lets the best of each rung go on to max_epochs
    done = json.loads((folder / TRAIN_DIR / ended[0]["trial"] / "sweep_trial.json").read_text())
    assert done["epochs"] == 3


@pytest.mark.parametrize(("name", "trials"), [("default.yaml", 36), ("tiny.yaml", 4)])
def test_shipped_sweeps_resolve_to_their_trials(name, trials):
    """What `rig train --sweep sweeps/NAME` would train, without training it."""
    from rig.train.sweep import trial_configs

    sweep = load_sweep(name)  # a bare name finds the shipped file
    configs = trial_configs(sweep)
    assert len(configs) == trials
    assert len({c.name for c in configs}) == trials
    assert {c.training.lr for c in configs} == set(sweep.lr or [])
