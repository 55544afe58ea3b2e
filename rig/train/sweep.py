"""`rig train --sweep`: every combination of a sweep file is a Ray Tune trial running our
TrainingRun unchanged (same data discipline, checkpoints in train/<trial>/, events), reporting
its validation loss per epoch; ASHA stops the bad trials early. Afterwards the best trial by
validation loss is tested, exported and reported as `rig train` does, and train/sweep/report.md
tables and plots every trial.

Ray is the `[cluster]` extra and imported here only. Fault tolerance: a trial whose process or
node dies is restarted by Tune (FailureConfig.max_failures) and TrainingRun resumes from its
own train/<trial>/last.pt, which lives in the session folder every node reads."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rig.errors import UserError
from rig.session import MANIFEST_FILE, TRAIN_DIR, Session
from rig.train import checkpoint
from rig.train.config import ModelConfig, load_model_config
from rig.train.sweep_file import SweepFile, model_paths
from rig.train.sweep_report import DONE_FILE, SWEEP_DIR, finish_sweep
from rig.train.trainer import RunState, TrainingRun, TrainOptions, default_threads

# Light local Ray: no dashboard, a small object store (trials pass no data through it).
OBJECT_STORE_BYTES = 80 * 1024 * 1024


@dataclass
class SweepOptions:
    concurrent: int | None = None  # trials at once; None: the cores / threads per trial (local), any (cluster)
    threads: int | None = None  # torch threads per trial; None: 2, or the cores if fewer
    address: str | None = None  # an existing Ray cluster; None: RAY_ADDRESS, else a local Ray


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("sweeps need Ray: pip install -e .[cluster]") from None
    return ray


# ---- trials ------------------------------------------------------------------------------
def trial_name(cfg: ModelConfig, overrides: dict[str, float]) -> str:
    """A distinct model name per trial (the dashboard keys its rows by model name)."""
    short = {"lr": "lr", "segment_s": "seg", "loss_l1": "l1", "loss_mrstft": "mr"}
    return "_".join([cfg.name] + [f"{short[k]}{v:g}" for k, v in overrides.items()])


def trial_configs(sweep: SweepFile) -> list[ModelConfig]:
    out = []
    for path in model_paths(sweep):
        base = load_model_config(path)
        for combo in sweep.combinations():
            data = base.model_dump(mode="json")
            t = data["training"]
            t["lr"] = combo.get("lr", t["lr"])
            t["segment_s"] = combo.get("segment_s", t["segment_s"])
            t["loss"]["l1"] = combo.get("loss_l1", t["loss"]["l1"])
            t["loss"]["mrstft"] = combo.get("loss_mrstft", t["loss"]["mrstft"])
            data["name"] = trial_name(base, combo)
            out.append(ModelConfig.model_validate(data))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise UserError("the sweep file lists a model config twice; each trial trains into train/<trial>")
    return out


def run_trial(config: dict) -> None:
    """One Tune trial (runs on a Ray worker): TrainingRun with a per-epoch report to Tune."""
    import ray
    from ray import tune

    cfg = ModelConfig.model_validate(config["cfg"])

    def report(state: RunState) -> None:
        last = state.history[-1]
        loss = last["val_loss"] if last["val_loss"] is not None else last["train_loss"]
        tune.report({"val_loss": loss, "best_val_loss": state.best, "epoch": state.epoch})

    opts = TrainOptions(**config["opts"], on_epoch=report, test=False, export=False, report=False, progress=False)
    run = TrainingRun(Path(config["folder"]), cfg, opts)
    run.out.mkdir(parents=True, exist_ok=True)
    # which node runs the trial (diagnostics; the node-failure test kills the trial's node)
    (run.out / "node.txt").write_text(ray.get_runtime_context().get_node_id())
    result = run.run()
    done = {"status": result.status, "stop_reason": run.state.stop_reason, "epochs": run.state.epoch}
    (run.out / DONE_FILE).write_text(json.dumps(done))


# ---- Ray ---------------------------------------------------------------------------------
def connect(ray: Any, address: str | None, threads: int) -> None:
    if ray.is_initialized():
        return  # tests share one Ray; a caller that started Ray keeps it
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(
            num_cpus=max(default_threads(), threads),
            include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES,
            log_to_driver=False,
        )


def check_shared(ray: Any, folder: Path) -> None:
    """Every alive node must read the session: a tiny task pinned to each node stats its manifest."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    def sees(path: str) -> bool:
        return os.path.isfile(path)

    manifest = str(folder / MANIFEST_FILE)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    pending = {
        n["NodeManagerAddress"] + " " + n["NodeID"][:8]: sees.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(manifest)
        for n in nodes
    }
    blind = [name for name, ref in pending.items() if not ray.get(ref, timeout=120)]
    if blind:
        raise UserError(
            f"Ray node(s) {', '.join(blind)} cannot read {manifest}; put the session on storage every node "
            "mounts at the same path (e.g. NFS), then run the sweep again"
        )


def plan_resources(opts: SweepOptions, local: bool) -> tuple[int, int | None]:
    """(threads per trial, concurrent trials or None for "as many as the cluster fits")."""
    cores = default_threads()
    threads = opts.threads or min(2, cores)
    if opts.concurrent:
        if local and not opts.threads:
            threads = max(1, cores // opts.concurrent)
        return threads, opts.concurrent
    return threads, (max(1, cores // threads) if local else None)


# ---- the sweep ---------------------------------------------------------------------------
def run_sweep(folder: Path, sweep: SweepFile, train: TrainOptions, opts: SweepOptions) -> dict:
    ray = require_ray()
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    folder = Path(folder).resolve()
    session = Session.open(folder)
    configs = trial_configs(sweep)
    address = opts.address or os.environ.get("RAY_ADDRESS") or None
    threads, concurrent = plan_resources(opts, local=address is None)
    connect(ray, address, threads)
    if address or len(ray.nodes()) > 1:
        check_shared(ray, folder)
    budget = train.budget_minutes or session.plan().train.budget_minutes
    slots = concurrent or len(configs)
    per_trial = replace(
        train,
        budget_minutes=budget * min(slots, len(configs)) / len(configs),
        threads=threads,
        max_epochs=sweep.max_epochs or train.max_epochs,
        on_batch=None,
        on_epoch=None,
    )
    # run_trial sets the callbacks and turns test, export and report off: the best trial gets them after
    skip = ("on_batch", "on_epoch", "test", "export", "report", "progress")
    opts_dict = {k: v for k, v in asdict(per_trial).items() if k not in skip}
    space = {
        "folder": str(folder),
        "opts": opts_dict,
        "cfg": tune.grid_search([c.model_dump(mode="json") for c in configs]),
    }
    max_t = sweep.max_epochs or train.max_epochs or 10_000
    scheduler = ASHAScheduler(
        time_attr="epoch",
        max_t=max_t + 1,  # the trial ends itself at max_t epochs (test, export); ASHA must not cut it first
        grace_period=min(sweep.asha.grace_epochs, max_t),
        reduction_factor=sweep.asha.reduction_factor,
    )
    tuner = tune.Tuner(
        tune.with_resources(run_trial, {"cpu": threads}),
        param_space=space,
        tune_config=tune.TuneConfig(
            metric="val_loss", mode="min", scheduler=scheduler, max_concurrent_trials=concurrent
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(folder / TRAIN_DIR / SWEEP_DIR / "ray"),
            failure_config=tune.FailureConfig(max_failures=sweep.max_failures),
            verbose=0,
        ),
    )
    grid = tuner.fit()
    results = [grid[i] for i in range(len(grid))]  # ResultGrid is indexable (its stubs say not iterable)
    errors = {r.config["cfg"]["name"]: str(r.error).splitlines()[0] for r in results if r.error and r.config}
    return finish_sweep(session, configs, errors, train, per_trial.max_epochs)


def best_trial(session: Session, configs: list[ModelConfig]) -> ModelConfig | None:
    best, best_loss = None, math.inf
    for cfg in configs:
        last = session.folder / TRAIN_DIR / cfg.name / checkpoint.LAST
        if last.exists():
            loss = checkpoint.load(last)["run"]["best"]
            if loss < best_loss:
                best, best_loss = cfg, loss
    return best
