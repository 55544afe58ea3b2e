"""Entry points behind `rig train` and `rig export`: resolve model configs, share the budget,
train the models one after another, write train/report.md."""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import replace
from pathlib import Path

import torch

from rig.errors import UserError
from rig.session import TRAIN_DIR, Session
from rig.train import checkpoint
from rig.train.config import MODELS_DIR, ModelConfig, load_model_config, named_configs
from rig.train.device import resolve_device
from rig.train.trainer import Result, RunState, TrainingRun, TrainOptions, default_threads


def model_configs(session: Session, given: list[str] | None) -> list[ModelConfig]:
    if given:
        return [load_model_config(p) for p in given]
    names = session.plan().train.models
    if not names:
        raise UserError("the plan lists no train.models; give --model models/<name>.yaml")
    return [load_model_config(locate_plan_model(session, n)) for n in names]


def locate_plan_model(session: Session, name: str) -> Path:
    """Plans name configs relative to the plan file; sessions may have moved, so also try the
    project's models/ folder and the shipped names."""
    found = session.plan_relative(name)
    for candidate in (found, MODELS_DIR.parent / name, Path(name), named_configs().get(Path(name).stem)):
        if candidate is not None and Path(candidate).is_file():
            return Path(candidate)
    raise UserError(f"model config {name} (from the plan's train.models) not found; give --model models/<name>.yaml")


def train_session(folder: Path, models: list[str] | None, opts: TrainOptions) -> list[Result]:
    resolve_device(opts.device)  # a missing device is refused before anything else happens
    session = Session.open(folder)
    configs = model_configs(session, models)
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise UserError(f"two model configs share a name ({', '.join(names)}); each trains into train/<name>")
    torch.set_num_threads(opts.threads or default_threads())
    budget = (opts.budget_minutes or session.plan().train.budget_minutes) / len(configs)
    results: list[Result] = []
    with _stop_recorded(session):
        for cfg in configs:
            result = TrainingRun(folder, cfg, replace(opts, budget_minutes=budget)).run()
            results.append(result)
            if result.status == "skipped":
                break  # the capture ended with too few takes: the other models would skip too
    reports = [session.folder / TRAIN_DIR / r.model / "report.md" for r in results if r.status == "finished"]
    if opts.report and reports:
        from rig.train.report import write_index

        write_index(session.folder / TRAIN_DIR, [p for p in reports if p.exists()])
    return results


@contextlib.contextmanager
def _stop_recorded(session: Session):
    """SIGTERM stops the trainer like Ctrl-C (SIGINT); either way an `aborted` event records
    that training stopped, so the dashboard (now or later) shows where the run ended."""

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, interrupt) if main else None
    try:
        yield
    except KeyboardInterrupt:
        session.events.emit("aborted", phase="training", source="trainer", reason="training stopped by a signal")
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, old)


def export_session(folder: Path, name: str) -> dict:
    """Re-export train/<name>/best.pt: test metrics recomputed for the card."""
    ckpt = checkpoint.load(Path(folder) / TRAIN_DIR / name / checkpoint.BEST)
    trainer = TrainingRun(
        folder, ModelConfig.model_validate(ckpt["config"]), TrainOptions(progress=False, device="cpu")
    )
    trainer.model.load_state_dict(ckpt["model"])
    trainer.state = RunState(**ckpt["run"])
    for record in trainer.follower.poll():
        if trainer.pool.split_for(record) == "test":
            trainer.pool.test_records.append(record)
    trainer.model.eval()
    files = trainer.export(trainer.evaluate_test())
    if not files:
        raise UserError(f"export of {name} failed its round-trip check; see the alert in events.jsonl")
    return files
