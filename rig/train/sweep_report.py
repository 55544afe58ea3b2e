"""After a sweep: the best trial is tested on the held-out settings, exported and reported as
`rig train` does; train/sweep/report.md tables every trial and plots their validation curves;
trials that ASHA stopped get a train_finished event so the dashboard closes their rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rig.session import TRAIN_DIR, Session
from rig.train import checkpoint
from rig.train.config import ModelConfig
from rig.train.trainer import Result, RunState, TrainingRun, TrainOptions

SWEEP_DIR = "sweep"  # train/sweep/: Tune's own files, this report and its plot
DONE_FILE = "sweep_trial.json"  # written by a trial that ended on its own (not stopped by ASHA)


def trial_rows(
    session: Session, configs: list[ModelConfig], errors: dict[str, str], max_epochs: int | None = None
) -> list[dict]:
    """One row per trial. A trial that trained all `max_epochs` finished, even when ASHA's last
    rung stopped it right after that epoch, before it could write its done file."""
    rows = []
    for cfg in configs:
        out = session.folder / TRAIN_DIR / cfg.name
        last = out / checkpoint.LAST
        state = RunState(**checkpoint.load(last)["run"]) if last.exists() else RunState()
        done = json.loads((out / DONE_FILE).read_text()) if (out / DONE_FILE).exists() else None
        complete = done is not None or (max_epochs is not None and state.epoch >= max_epochs)
        status = "failed" if cfg.name in errors else ("finished" if complete else "stopped early")
        rows.append(
            {
                "trial": cfg.name,
                "config": cfg.name.split("_")[0],
                "lr": cfg.training.lr,
                "epochs": state.epoch,
                "best_val_loss": None if math.isinf(state.best) else state.best,
                "status": status,
                "stop_reason": (done or {}).get("stop_reason")
                or {"stopped early": "asha", "finished": "max_epochs"}.get(status, ""),
                "ended_itself": done is not None,  # it sent its own train_finished
                "error": errors.get(cfg.name, ""),
                "history": state.history,
            }
        )
    return rows


def close_stopped(session: Session, rows: list[dict]) -> None:
    """A trial stopped by ASHA (or failed) never reached TrainingRun's end, so it sent no train_finished."""
    for r in rows:
        if not r["ended_itself"]:
            session.events.emit(
                "train_finished",
                model=r["trial"],
                best_val_loss=r["best_val_loss"],
                test_esr=None,
                epochs=r["epochs"],
                stop_reason=r["stop_reason"] or r["status"],
            )


def finish_best(session: Session, cfg: ModelConfig, train: TrainOptions) -> Result:
    """TrainingRun's own end (test, export, report) on the best trial's checkpoints."""
    run = TrainingRun(session.folder, cfg, replace_opts(train))
    run.state = RunState(**checkpoint.load(run.out / checkpoint.LAST)["run"])
    for record in run.follower.poll():
        run.pool.add(record)
    return run._finish()


def replace_opts(train: TrainOptions) -> TrainOptions:
    from dataclasses import replace

    return replace(train, progress=False, on_epoch=None, test=True, follow=False)


def write_sweep_report(folder: Path, rows: list[dict], best: str | None) -> Path:
    from rig.train.report import plt  # Agg backend already selected there

    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in rows:
        pts = [(h["epoch"], h["val_loss"]) for h in r["history"] if h["val_loss"] is not None]
        if pts:
            ax.plot(*zip(*pts), label=r["trial"], linewidth=2.5 if r["trial"] == best else 1.0)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("val loss")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "sweep_curves.png", dpi=100)
    plt.close(fig)
    lines = [
        "## Sweep",
        "",
        f"{len(rows)} trials; best by validation loss: **{best or 'none'}**.",
        "",
        "![validation curves](sweep_curves.png)",
        "",
        "| trial | config | LR | epochs | best val loss | status | stop |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(rows, key=lambda r: (r["best_val_loss"] is None, r["best_val_loss"] or 0.0)):
        loss = "-" if r["best_val_loss"] is None else f"{r['best_val_loss']:.4g}"
        lines.append(
            f"| {r['trial']} | {r['config']} | {r['lr']:g} | {r['epochs']} | {loss} | {r['status']} | "
            f"{r['stop_reason'] or r['error']} |"
        )
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def finish_sweep(
    session: Session,
    configs: list[ModelConfig],
    errors: dict[str, str],
    train: TrainOptions,
    max_epochs: int | None = None,
) -> dict:
    from rig.train.report import write_index
    from rig.train.sweep import best_trial

    rows = trial_rows(session, configs, errors, max_epochs)
    close_stopped(session, rows)
    best = best_trial(session, configs)
    result = finish_best(session, best, train) if best else None
    train_dir = session.folder / TRAIN_DIR
    sweep_report = write_sweep_report(train_dir / SWEEP_DIR, rows, best.name if best else None)
    reports = [train_dir / best.name / "report.md"] if best else []
    if train.report:
        write_index(train_dir, [p for p in reports if p.exists()] + [sweep_report])
    for r in rows:
        del r["history"]
    return {"best": best.name if best else None, "result": result, "trials": rows, "report": str(sweep_report)}
