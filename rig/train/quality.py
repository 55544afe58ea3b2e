"""`rig bench quality`: the yardstick of model quality. A simulated session of the shipped
bench plan (virtual amp, 4 knobs, 48 train/val and 8 unseen test settings, 10 s takes) is
captured once and cached by plan text, seed and the code that renders it; then the default
model trains on it for each given budget, each run in a child process (so its peak RSS is its
own), and the figures are returned as a JSON-ready dict: test ESR (mean, worst, per setting),
steps/s, samples/s, peak RSS and wall time."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from rig.errors import UserError
from rig.plan import load_plan
from rig.session import MANIFEST_FILE, SESSION_FILE, TAKES_DIR, Session

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_PLAN = PROJECT / "capture_plans" / "bench_quality.yaml"
DEFAULT_MODEL = PROJECT / "models" / "tcn-tvf-45-s-16.yaml"
# The code that makes the bench session's audio: the dry program, its material, the virtual
# interface and devices. A change there must rebuild the cached session, not reuse stale takes.
SESSION_CODE = [
    PROJECT / "rig" / "audio" / name for name in ("program.py", "sources.py", "impulse.py", "virtual.py")
] + sorted((PROJECT / "rig" / "sim").glob("*.py"))


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rig" / "bench"


def bench_quality(
    plan: str | Path | None = None,
    budgets: list[float] | None = None,
    step_budgets: list[int] | None = None,
    threads: int = 2,
    seed: int | None = None,
    cache: str | Path | None = None,
    model: str | Path | None = None,
    device: str = "cpu",
    quiet: bool = True,
) -> dict:
    plan_path = Path(plan or DEFAULT_PLAN)
    seeded = bench_plan_text(plan_path, seed)
    folder, built_s = cached_session(seeded, Path(cache or default_cache()), quiet)
    model_path = Path(model or DEFAULT_MODEL)
    wall = budgets if budgets is not None else ([] if step_budgets else [10.0])
    runs = [train_once(folder, model_path, {"budget_minutes": b}, threads, device) for b in wall]
    runs += [train_once(folder, model_path, {"budget_steps": n}, threads, device) for n in step_budgets or []]
    session = Session.open(folder)
    return {
        "plan": str(plan_path),
        "session": str(folder),
        "session_build_s": built_s,
        "settings": _split_counts(session),
        "threads": threads,
        "device": device,
        "runs": runs,
    }


# ---- the cached session --------------------------------------------------------------------
def bench_plan_text(path: Path, seed: int | None) -> str:
    """The plan file's YAML, with settings.seed replaced when a seed is given (it also seeds
    the dry programs), so the cache key covers it. Training off: the bench trains itself."""
    load_plan(path)  # a damaged plan is a user error here, with the plan loader's message
    data = yaml.safe_load(path.read_text())
    if seed is not None:
        data["settings"]["seed"] = seed
    data.setdefault("train", {})["auto"] = False
    return yaml.safe_dump(data, sort_keys=False)


def cached_session(plan_text: str, cache: Path, quiet: bool = True) -> tuple[Path, float | None]:
    """The session folder for this plan, captured on the simulated rig on first use; the
    second value is the capture's wall time, None when it came from the cache."""
    from rig.capture.options import CaptureOptions
    from rig.capture.run import run_capture
    from rig.plan.models import Plan

    plan = Plan.model_validate(yaml.safe_load(plan_text))
    folder = cache / f"session-{session_key(plan_text, SESSION_CODE)}-{plan.settings.seed}"
    if (folder / ".complete").exists():
        return folder, None
    cache.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted build: start it over
    with tempfile.TemporaryDirectory(prefix="rig-bench-plan-") as tmp:
        plan_file = Path(tmp) / "bench_quality.yaml"
        plan_file.write_text(plan_text)
        t0 = time.monotonic()
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the bench's JSON
            rc = run_capture(
                CaptureOptions(plan_file=plan_file, session=folder, sim=True, train=False, dashboard=False, quiet=quiet)
            )
        built = round(time.monotonic() - t0, 1)
    if rc != 0:
        raise UserError(f"the simulated capture of the bench session ended with status {rc}; see {folder}/events.jsonl")
    (folder / ".complete").write_text("")
    return folder, built


def session_key(plan_text: str, code: list[Path]) -> str:
    """The cache key: the plan text (seed included) and the code that renders the session.
    Not the session's plan_hash: that one is a dump of the parsed plan and changes when a new
    plan field appears, which would rebuild."""
    digest = hashlib.sha256(plan_text.encode())
    for path in code:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def work_copy(session: Path, into: Path) -> Path:
    """A throwaway session folder sharing the cached takes (symlinked), so training writes
    its checkpoints and events there and concurrent benches never collide."""
    into.mkdir(parents=True)
    for name in (SESSION_FILE, MANIFEST_FILE):
        shutil.copy2(session / name, into / name)
    (into / TAKES_DIR).symlink_to((session / TAKES_DIR).resolve(), target_is_directory=True)
    return into


def _split_counts(session: Session) -> dict:
    counts: dict[str, int] = {}
    for s in session.settings():
        counts[s.split] = counts.get(s.split, 0) + 1
    return counts


# ---- one training run, in a child process ----------------------------------------------------
def train_once(session: Path, model: Path, budget: dict, threads: int, device: str) -> dict:
    """budget: {"budget_minutes": M} (wall time) or {"budget_steps": N} (optimizer steps)."""
    args = {"session": str(session), "model": str(model), "threads": threads, "device": device, **budget}
    # Passive OpenMP waiting, as the capture's trainer uses: spinning threads collapse when
    # anything else runs on the cores (5x slower steps measured on a shared 2-core machine).
    env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, "-m", "rig.train.quality", json.dumps(args)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"bench training run ({budget}) failed: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(args: dict) -> dict:
    from rig.train.config import load_model_config
    from rig.train.trainer import TrainingRun, TrainOptions

    cfg = load_model_config(args["model"])
    with tempfile.TemporaryDirectory(prefix="rig-bench-quality-") as tmp:
        folder = work_copy(Path(args["session"]), Path(tmp) / "session")
        opts = TrainOptions(
            budget_minutes=args.get("budget_minutes"),
            budget_steps=args.get("budget_steps"),
            threads=args["threads"],
            device=args["device"],
            fresh=True,
            progress=False,
            export=False,
            report=False,
        )
        t0 = time.monotonic()
        trainer = TrainingRun(folder, cfg, opts)
        result = trainer.run()
        wall = time.monotonic() - t0
    return _figures(trainer, result, wall, args)


def _figures(trainer, result, wall: float, args: dict) -> dict:
    s = trainer.state
    per = result.test["per_setting"] if result.test else []
    esrs = [r["esr"] for r in per]
    train_s = max(s.train_seconds, 1e-9)
    samples = s.steps * trainer.opts.batch_size * trainer.segment
    return {
        "model": trainer.cfg.name,
        "budget_minutes": args.get("budget_minutes"),
        "budget_steps": args.get("budget_steps"),
        "device": str(trainer.device),
        "test_esr_mean": _r(result.test["esr"]) if result.test else None,
        "test_esr_worst": _r(max(esrs)) if esrs else None,
        "test_esr_per_setting": [
            {"setting_id": r["setting_id"], "knobs": r["knobs"], "esr": _r(r["esr"])} for r in per
        ],
        "best_val_loss": _r(result.best_val_loss) if result.best_val_loss is not None else None,
        "best_val_esr": _r(min((h["val_esr"] for h in s.history if h["val_esr"] is not None), default=float("nan"))),
        "epochs": s.epoch,
        "steps": s.steps,
        "stop_reason": s.stop_reason,
        "batch_size": trainer.opts.batch_size,
        "segment_samples": trainer.segment,
        "steps_per_s": _r(s.steps / train_s),
        "samples_per_s": round(samples / train_s),
        "train_s": round(s.train_seconds, 1),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _r(v: float) -> float:
    return round(float(v), 5)


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))))
