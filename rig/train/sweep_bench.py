"""`rig bench sweep`: what running trials side by side buys on this machine. The same 8-trial
sweep (lstm-c-32 at 8 learning rates, a fixed number of epochs, no early stopping so both runs
do equal work) on the quality bench's simulated session, once with 1 trial at a time (2
threads) and once with 2 at a time (1 thread each); prints both wall times and their ratio."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

from rig.train.quality import DEFAULT_PLAN, PROJECT, bench_plan_text, cached_session, default_cache, work_copy
from rig.train.sweep import SweepOptions, require_ray, run_sweep
from rig.train.sweep_file import Asha, SweepFile
from rig.train.trainer import TrainOptions

MODEL = PROJECT / "models" / "lstm-c-32.yaml"
LEARNING_RATES = [0.02, 0.01, 0.005, 0.003, 0.002, 0.001, 0.0005, 0.0002]


def bench_sweep(epochs: int = 3, cache: Path | None = None, quiet: bool = True) -> dict:
    ray = require_ray()
    session, _ = cached_session(bench_plan_text(DEFAULT_PLAN, None), Path(cache or default_cache()), quiet)
    # grace = max_epochs: ASHA never stops a trial, so both runs train the same 8 x epochs
    sweep = SweepFile(models=[str(MODEL)], lr=LEARNING_RATES, max_epochs=epochs, asha=Asha(grace_epochs=epochs))
    runs = {}
    for concurrent in (1, 2):
        with tempfile.TemporaryDirectory(prefix="rig-bench-sweep-") as tmp:
            folder = work_copy(session, Path(tmp) / "session")
            opts = TrainOptions(budget_minutes=60.0, progress=False, export=False, report=False, fresh=True)
            t0 = time.monotonic()
            with contextlib.redirect_stdout(sys.stderr):  # stdout is the bench's JSON; Tune prints tables
                out = run_sweep(folder, sweep, opts, SweepOptions(concurrent=concurrent))
            wall = time.monotonic() - t0
        ray.shutdown()  # each run starts its own local Ray, as a user's command would
        runs[concurrent] = {
            "concurrent": concurrent,
            "wall_s": round(wall, 1),
            "trials": len(out["trials"]),
            "best": out["best"],
        }
    return {
        "trials": len(LEARNING_RATES),
        "epochs": epochs,
        "model": MODEL.stem,
        "one_at_a_time": runs[1],
        "two_at_a_time": runs[2],
        "wall_ratio_2_over_1": round(runs[2]["wall_s"] / runs[1]["wall_s"], 3),
    }
