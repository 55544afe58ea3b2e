"""Sweeps on a two-node Ray cluster started on this machine (ray.cluster_utils.Cluster, 1 CPU
per node): the storage check, and a worker node killed mid-trial."""

from __future__ import annotations

import threading
import time

import pytest
import yaml

from rig.session import TRAIN_DIR
from rig.train.sweep_file import load_sweep
from tests.train.conftest import events, quick_options, tiny_config, write_config

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

NODE = dict(num_cpus=1, object_store_memory=80 * 1024 * 1024)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    worker = c.add_node(**NODE)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c, worker
    ray.shutdown()
    c.shutdown()


def sweep_file(tmp_path, lrs, max_epochs):
    cfg = write_config(tmp_path, tiny_config("lstm"))
    data = {"models": [str(cfg)], "lr": list(lrs), "max_epochs": max_epochs, "asha": {"grace_epochs": max_epochs}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_sweep(path)


def test_four_trials_on_two_nodes(cluster, session, tmp_path):
    from rig.train.sweep import SweepOptions, run_sweep

    c, _ = cluster
    folder = session.folder
    sweep = sweep_file(tmp_path, (0.01, 0.005, 0.002, 0.001), 2)
    out = run_sweep(folder, sweep, quick_options(max_epochs=2), SweepOptions(threads=1, address=c.address))
    assert len(out["trials"]) == 4
    assert out["result"].status == "finished"
    assert all(t["status"] != "failed" for t in out["trials"])


def test_killed_worker_node_resumes_from_checkpoint(cluster, session, tmp_path):
    """The trial on the worker node loses its node after its first epoch; Tune restarts it on
    the head and TrainingRun resumes from train/<trial>/last.pt: its epochs go on from there."""
    from rig.train.sweep import SweepOptions, run_sweep

    c, worker = cluster
    folder = session.folder
    sweep = sweep_file(tmp_path, (0.01, 0.005), 6)
    killed: list[str] = []

    def kill_when_worker_trained() -> None:
        wid = worker.node_id
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            for e in events(folder, "train_epoch"):
                if e["epoch"] >= 2 and _ran_on(folder, e["model"], wid):
                    c.remove_node(worker)
                    killed.append(e["model"])
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_when_worker_trained, daemon=True)
    killer.start()
    out = run_sweep(folder, sweep, quick_options(max_epochs=6), SweepOptions(threads=1, address=c.address))
    killer.join(timeout=5)
    assert killed, "no trial ran on the worker node"
    trial = killed[0]
    starts = [e for e in events(folder) if e.get("model") == trial and e["type"] in ("train_started", "train_epoch")]
    restart = [i for i, e in enumerate(starts) if e["type"] == "train_started"]
    assert len(restart) >= 2, "the killed trial was not restarted"
    after = [e["epoch"] for e in starts[restart[1] :] if e["type"] == "train_epoch"]
    assert after
    assert after[0] > 1  # resumed from last.pt, not from epoch 1
    row = next(t for t in out["trials"] if t["trial"] == trial)
    assert row["epochs"] == 6
    assert row["status"] == "finished"
    assert (folder / TRAIN_DIR / trial / "last.pt").exists()


def _ran_on(folder, model, node_id) -> bool:
    marker = folder / TRAIN_DIR / model / "node.txt"
    return marker.exists() and marker.read_text().strip() == node_id
