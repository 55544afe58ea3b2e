"""`rig bench active` (issue 14): does choosing the next settings where the model is weakest
buy more quality per take than a fixed design? Three strategies on the virtual amp, each
with the same take budget and the same training per take, for several seeds:

  active  the trainer's proposals (rig/train/acquisition.py: prequential error, GP-UCB)
  sobol   the plan's own Sobol continuation (what the capture falls back to)
  grid    a random subset of a full-factorial grid (levels per knob: the fewest whose grid
          holds the budget), in a seeded order

All three start from the plan's initial and val settings and share its test settings (the
base plan's, for every seed); every batch goes through the capture's accept() (so the same
min_distance rules hold). After each batch the model trains steps_per_take optimizer steps
per train/val take in all, resuming where it stopped, and is tested on the held-out settings
(mean ESR over settings, as `rig bench quality` reports it). Takes are rendered straight
through the virtual device (the dry program the capture would send, no robot, alignment or
interface noise): the capture loop itself is what rig/capture tests; rendering keeps 3 x 3
runs affordable. The JSON holds every run's curve and a summary; a plot of test ESR against
takes (mean, min..max over seeds) is written next to --out."""

from __future__ import annotations

import copy
import itertools
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from rig.audio import build_program
from rig.errors import UserError
from rig.plan import Plan, Setting, load_plan, sample_settings
from rig.plan.active import active_block, budget_takes
from rig.plan.sample import snap_to_dial, with_fixed_knobs
from rig.session import Session
from rig.session.proposals import AcceptedBatch, accept, accepted_batches, read_proposal, write_proposal
from rig.sim import make_device
from rig.train.acquisition import ActiveProposer
from rig.train.config import ModelConfig, load_model_config
from rig.train.data import Take
from rig.train.models import ParametricModel
from rig.train.trainer import TrainingRun, TrainOptions

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_PLAN = PROJECT / "capture_plans" / "active_demo.yaml"
DEFAULT_MODEL = PROJECT / "models" / "tcn-tvf-45-s-16.yaml"
STRATEGIES = ("active", "sobol", "grid")
TEST_BLOCK = 1 << 20  # samples: a 10 s take in one block


def bench_active(
    plan: str | Path | None = None,
    model: str | Path | None = None,
    seeds: int = 3,
    strategies: tuple[str, ...] = STRATEGIES,
    steps_per_take: int = 30,
    threads: int = 2,
    out: str | Path | None = None,
    quiet: bool = True,
) -> dict:
    import torch

    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise UserError(f"unknown strategy '{unknown[0]}' (choose from {', '.join(STRATEGIES)})")
    if seeds < 1 or steps_per_take < 1:
        raise UserError("--seeds and --steps-per-take must be at least 1")
    plan_path = Path(plan or DEFAULT_PLAN)
    base = bench_plan_data(plan_path)
    cfg = load_model_config(model or DEFAULT_MODEL)
    torch.set_num_threads(threads)
    runs = []
    t0 = time.monotonic()
    pairs = list(itertools.product(strategies, range(seeds)))
    with tempfile.TemporaryDirectory(prefix="rig-bench-active-") as tmp, _bar() as bar:
        task = bar.add_task("bench active", total=len(pairs))
        for strategy, seed in pairs:
            bar.update(task, description=f"{strategy} seed {seed}")
            runs.append(run_strategy(base, strategy, seed, cfg, steps_per_take, Path(tmp) / f"{strategy}-{seed}"))
            bar.advance(task)
            if not quiet:
                bar.console.print(f"{strategy} seed {seed}: {runs[-1]['curve']}", soft_wrap=True, markup=False)
    result = {
        "plan": str(plan_path),
        "model": cfg.name,
        "budget_takes": runs[0]["curve"][-1]["takes"] if runs else None,
        "steps_per_take": steps_per_take,
        "seeds": seeds,
        "threads": threads,
        "wall_s": round(time.monotonic() - t0, 1),
        "summary": summarise(runs),
        "runs": runs,
    }
    if out:
        result["plot"] = str(plot(result, Path(out).with_suffix(".png")))
    return result


def _bar():
    """Runs done of all, on stderr (stdout is the JSON)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )


def bench_plan_data(path: Path) -> dict:
    """The plan as YAML data with its test settings written out as a list, so every seed is
    tested on the same settings; training off (the bench trains itself)."""
    plan = load_plan(path)
    active_block(plan)  # an active plan, or one clear line
    data = yaml.safe_load(path.read_text())
    test = [s.values for s in sample_settings(plan) if s.split == "test"]
    names = [k.name for k in plan.sampled_knobs]
    data["settings"]["test"] = {"method": "list", "settings": [{n: v[n] for n in names} for v in test]}
    data.setdefault("train", {})["auto"] = False
    return data


# ---- one strategy, one seed -----------------------------------------------------------------
def run_strategy(base: dict, strategy: str, seed: int, cfg: ModelConfig, steps_per_take: int, folder: Path) -> dict:
    data = copy.deepcopy(base)
    data["settings"]["seed"] = int(base["settings"].get("seed", 0)) + seed
    plan_file = folder.with_suffix(".yaml")
    folder.parent.mkdir(parents=True, exist_ok=True)
    plan_file.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = load_plan(plan_file)
    settings = sample_settings(plan)
    session = Session.create(folder, plan, plan_file, settings, [s.id for s in settings])
    for s in settings:
        render_take(session, plan, s)
    proposer = ActiveProposer(session, plan, folder / "train" / cfg.name) if strategy == "active" else None
    grid = grid_order(plan, seed) if strategy == "grid" else []
    curve: list[dict] = []
    while True:
        fit = sum(1 for r in session.manifest() if r["split"] in ("train", "val"))
        curve.append({"takes": fit, **train_stage(folder, cfg, steps_per_take * fit, seed, proposer)})
        if fit >= budget_takes(plan):
            break
        batch = decide(folder, proposer, grid)
        curve[-1]["next_signal"] = batch.source if proposer is None else _signal(folder, batch.batch)
        for a in batch.settings:
            render_take(session, plan, Setting(a.id, a.values, "train"))
    return {"strategy": strategy, "seed": seed, "curve": curve}


class _ObserveOnly:
    """What the trainer calls on an active run's proposer, minus the proposing: the bench
    proposes once a stage's training is done, so each batch rests on every take before it."""

    def __init__(self, proposer: ActiveProposer):
        self.proposer = proposer

    def observe(self, take: Take, model: ParametricModel) -> None:
        self.proposer.observe(take, model)

    def after_epoch(self, _pool) -> None:
        pass


def train_stage(folder: Path, cfg: ModelConfig, steps: int, seed: int, proposer: ActiveProposer | None) -> dict:
    """Train on to `steps` optimizer steps in all (from the last checkpoint), then test. New
    takes are measured by the proposer under the weights the last stage ended with."""
    # No early stop: equal training per take for every strategy. Test takes in one block:
    # oneDNN streams a TCN in 64k blocks ~20x slower than in one (rig/train/acquisition.py).
    opts = TrainOptions(
        budget_steps=steps,
        patience=10**9,
        seed=seed,
        progress=False,
        export=False,
        report=False,
        stream_block=TEST_BLOCK,
    )
    run = TrainingRun(folder, cfg, opts)  # run() resumes last.pt before it reads the new takes
    if proposer is not None:
        run.proposer = _ObserveOnly(proposer)
    result = run.run()
    test = result.test or {}
    return {"test_esr": _r(test.get("esr", math.nan)), "steps": run.state.steps}


def decide(folder: Path, proposer: ActiveProposer | None, grid: list[dict]) -> AcceptedBatch:
    """The next batch, accepted as the capture would accept it."""
    done = accepted_batches(folder)
    batch = done[-1].batch + 1 if done else 1
    if proposer is not None:
        proposer.propose_if_due()
        return accept(folder, batch, read_proposal(folder, batch))
    if grid:
        taken = {tuple(sorted(s.values.items())) for b in done for s in b.settings}
        rows = [v for v in grid if tuple(sorted(v.items())) not in taken]
        write_proposal(folder, batch, rows, signal="grid subset")
        return accept(folder, batch, read_proposal(folder, batch))
    return accept(folder, batch, None)  # the plan's Sobol continuation


def _signal(folder: Path, batch: int) -> str:
    proposal = read_proposal(folder, batch)
    return proposal.signal if proposal else ""


def grid_order(plan: Plan, seed: int) -> list[dict]:
    """Every point of the smallest full-factorial grid that holds the budget, in a seeded
    random order: the first ones not refused are the grid subset."""
    knobs = plan.sampled_knobs
    levels = max(2, math.ceil(budget_takes(plan) ** (1 / len(knobs))))
    axes = [[snap_to_dial(k, v) for v in np.linspace(k.min, k.max, levels)] for k in knobs]
    points = [with_fixed_knobs(plan, dict(zip([k.name for k in knobs], p))) for p in itertools.product(*axes)]
    order = np.random.default_rng([seed, 4099]).permutation(len(points))
    return [points[i] for i in order]


# ---- rendering a take ---------------------------------------------------------------------
def render_take(session: Session, plan: Plan, setting: Setting) -> dict:
    """The take the capture would record at `setting`, rendered through the virtual device
    and committed like a captured one (same program seed as the capture's)."""
    program = build_program(plan, split=setting.split, seed=plan.settings.seed * 100_003 + setting.id + 1)
    device = make_device(plan.device.simulator, plan.audio.sample_rate, seed=setting.id)
    device.set_knobs({k: v for k, v in setting.values.items() if k in device.knob_names})
    wet = device.process(program.signal)
    knobs = {k.name: setting.values[k.name] for k in plan.sampled_knobs}
    take_id = f"t{setting.id:04d}_" + "_".join(f"{k.tag}{knobs[k.name]:g}" for k in plan.sampled_knobs)
    files = session.take_files(take_id)
    for kind, signal in (("dry", program.signal), ("loopback", program.signal), ("wet", wet)):
        sf.write(session.temp_path(files[kind]), signal, plan.audio.sample_rate, subtype="FLOAT", format="WAV")
    return session.commit_take(
        {
            "take_id": take_id,
            "setting_id": setting.id,
            "split": setting.split,
            "knobs": knobs,
            "knobs_norm": {k.name: k.normalise(knobs[k.name]) for k in plan.sampled_knobs},
            "sample_rate": plan.audio.sample_rate,
            "samples": program.samples,
            "content": list(program.content),
            "latency_samples": 0,
            "device_delay_samples": 0,
            "gains": program.gains,
            "qc": {"ok": True},
            "retries": 0,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )


# ---- figures --------------------------------------------------------------------------------
def summarise(runs: list[dict]) -> dict:
    """Per strategy: test ESR at each take count over the seeds (mean, min, max), and for
    active the fewest takes at which its mean reaches Sobol's final mean."""
    out: dict[str, dict] = {}
    for strategy in dict.fromkeys(r["strategy"] for r in runs):
        curves = [r["curve"] for r in runs if r["strategy"] == strategy]
        takes = [p["takes"] for p in curves[0]]
        esr = np.array([[p["test_esr"] for p in c] for c in curves])
        out[strategy] = {
            "takes": takes,
            "esr_mean": [_r(v) for v in esr.mean(0)],
            "esr_min": [_r(v) for v in esr.min(0)],
            "esr_max": [_r(v) for v in esr.max(0)],
        }
    if "active" in out and "sobol" in out:
        target = out["sobol"]["esr_mean"][-1]
        reached = [t for t, e in zip(out["active"]["takes"], out["active"]["esr_mean"]) if e <= target]
        out["active_vs_sobol"] = {
            "sobol_final_esr": target,
            "active_takes_to_reach_it": reached[0] if reached else None,
            "fraction_of_budget": _r(reached[0] / out["sobol"]["takes"][-1]) if reached else None,
        }
    return out


def plot(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy, s in result["summary"].items():
        if strategy == "active_vs_sobol":
            continue
        ax.plot(s["takes"], s["esr_mean"], marker="o", label=strategy)
        ax.fill_between(s["takes"], s["esr_min"], s["esr_max"], alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("train + val takes")
    ax.set_ylabel("test ESR (mean over settings)")
    ax.set_title(f"{Path(result['plan']).name}, {result['model']}, {result['seeds']} seeds (min..max)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _r(v: float) -> float:
    return round(float(v), 5)
