"""Active capture, the trainer's side (settings.method: active; rig/session/proposals.py is the
link): measure each new take's prequential error and propose the next batch of knob settings
where the model is expected to be weakest.

Signal. A take's *prequential* ESR is its ESR under the model before any training step has
used it: an honest error estimate at that setting, at the cost of one forward pass. The model
keeps improving while the capture runs, so raw figures from different moments are not
comparable (an early take looks bad wherever it is). Each point is therefore divided by a
reference measured under the same weights: the geometric-mean ESR of the first few val takes
(never trained on) over their first REF_SECONDS. log(ESR / reference) says how much worse
this setting is than an average unseen one, which stays roughly constant as training
improves the model as a whole. Points measured while that reference was still above
MAX_REF_ESR (a model that has barely started) are kept but not used: their differences are
about the initial weights, not about where a trained model will be weak.

Surrogate. A Gaussian process over the normalised knob space (scikit-learn fits Matern-5/2
ARD + white-noise hyperparameters on the centred targets, with floors on the amplitude and
the noise so a flat, noisy surface is not read as structure); the posterior is then computed
here with those hyperparameters so the batch can be chosen GP-BUCB style.

Batch. Candidates are a fresh Sobol pool of `active.pool` settings, snapped to the dials;
those within min_distance of a test setting or of a setting already taken are never
candidates. Picks are greedy by upper confidence bound (mean + UCB_KAPPA * std, in log-ESR).
After each pick the posterior variance is recomputed as if that setting were observed (it
does not depend on the outcome: Desautels et al. 2014) and candidates within min_distance of
it are removed, so the batch spreads over the weak region instead of piling into one corner.
With fewer than MIN_POINTS usable prequential points the batch is the plan's Sobol
continuation (what a timeout would give, without the wait) and `signal` says so.

Timing. A proposal is due when next_batch() has no file yet and budget is left, checked after
every epoch; batch N+1 is written as soon as batch N is accepted, while N records.

Map. Each GP proposal's event carries knob_space_map(): the surrogate's error and uncertainty
over every pair of knobs, which the dashboard shades behind the recorded settings."""

from __future__ import annotations

import itertools
import json
import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.stats import qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Kernel, Matern, WhiteKernel

from rig.plan import Plan
from rig.plan.active import active_block, proposed_takes, sobol_after
from rig.plan.sample import normalised, unit_to_dials
from rig.session import EVENTS_FILE, EventLog, Session
from rig.session.atomic import append_line
from rig.session.jsonl import read_jsonl
from rig.session.proposals import accepted_batches, proposal_path, write_proposal
from rig.train.data import Take, TakePool
from rig.train.losses import esr
from rig.train.models import ParametricModel
from rig.train.trainer import stream

PREQUENTIAL_FILE = "prequential.jsonl"
MIN_POINTS = 4  # fewer prequential points than this: no surrogate, space-filling instead
UCB_KAPPA = 1.5  # weight of the surrogate's std (log-ESR) against its mean
REF_TAKES = 4  # val takes in the reference
REF_SECONDS = 2.0  # of each reference take: a whole 10 s take costs ~1.7 s on 2 cores, 2 s ~0.35 s
EXTRA = 2  # settings proposed beyond the batch, best last, in case the capture refuses some
STREAM_BLOCK = 65536
GP_SIGNAL = "prequential-gp-ucb"
MAX_REF_ESR = 0.5  # a point measured while the val reference was worse says little about a trained model
SIGNAL_STD_MIN = 0.1  # log-ESR: the surrogate's prior std never fits below ~10 % of ESR
NOISE_STD_MIN = 0.05  # log-ESR: a take's prequential ESR is not exact (content, noise)
MAP_BINS = 12  # cells per knob in the dashboard's knob-space map


class Choice(NamedTuple):
    """A proposal: dial values, their scores (None while space-filling), the signal that chose
    them, how many prequential points it rests on, and the surrogate's knob-space map (None
    while space-filling) that the dashboard draws behind them."""

    values: list[dict]
    scores: list[float | None]
    signal: str
    based_on: int
    map: dict | None = None


@dataclass(frozen=True)
class Point:
    """One take's prequential measurement (a line of prequential.jsonl)."""

    take_id: str
    setting_id: int
    split: str
    x: list[float]  # the knobs normalised 0..1, plan order
    esr: float
    ref_esr: float | None  # the val reference under the same weights; None before any val take
    epoch: int  # epochs seen by this proposer when measured
    at: str = ""

    @property
    def relative(self) -> float | None:
        """log(ESR / reference): the surrogate's target."""
        if self.ref_esr is None or not (self.esr > 0 and self.ref_esr > 0):
            return None
        return math.log(self.esr / self.ref_esr)


def _point(obj) -> Point | None:
    try:
        return Point(**obj)
    except TypeError:
        return None  # a line of another shape: not ours to trust


def load_points(path: Path) -> list[Point]:
    rows, _ = read_jsonl(path)
    points: dict[str, Point] = {}
    for p in (_point(r) for r in rows if isinstance(r, dict)):
        if p is not None:
            points.setdefault(p.take_id, p)  # the first measurement is the honest one
    return list(points.values())


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no autograd, then back to the mode the trainer had."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was)


@contextmanager
def without_onednn() -> Iterator[None]:
    """Streaming a TCN in 64k-sample blocks through oneDNN took ~35 s for a 10 s take on the
    2-core test machine (1.7 s without it, or in one block); its flags() warns about TF32."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "TF32 acceleration", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def take_esr(model: ParametricModel, take: Take, seconds: float | None = None) -> float:
    """ESR of the model over a take's content (its first `seconds` of it when given)."""
    end = take.length if seconds is None else min(take.length, take.offset + round(seconds * take.sample_rate))
    device = next(model.parameters()).device
    x = torch.from_numpy(take.span("x", 0, end))[None, None].to(device)
    c = torch.from_numpy(take.controls)[None].to(device)
    with without_onednn():
        pred = stream(model, x, c, STREAM_BLOCK)[0, 0, take.offset :].float().cpu()
    return esr(pred, torch.from_numpy(take.span("y", take.offset, end)))


def fingerprint(model: torch.nn.Module) -> tuple[float, float]:
    """Changes whenever the weights do (a step, a divergence recovery): keys the reference cache."""
    flat = torch.cat([p.detach().flatten().double() for p in model.parameters()])
    return float(flat.sum()), float(flat.square().sum())


class ActiveProposer:
    def __init__(self, session: Session, plan: Plan, out: Path):
        self.session, self.plan, self.out = session, plan, Path(out)
        self.folder = session.folder
        self.block = active_block(plan)
        self.path = self.out / PREQUENTIAL_FILE
        self.points = load_points(self.path)
        self.epoch = max((p.epoch for p in self.points), default=0)
        self.events = EventLog(self.folder / EVENTS_FILE)
        static = session.settings()
        self.test_values = [s.values for s in static if s.split == "test"]
        self.static_taken = [s.values for s in static if s.split != "test"]
        self.ref_takes: list[Take] = []
        self._ref_cache: tuple[tuple[float, float] | None, dict[str, float]] = (None, {})
        self._held: list[tuple[Take, float]] = []  # measured, waiting for a reference (same weights)
        self._held_key: tuple[float, float] | None = None

    # ---- measuring -----------------------------------------------------------------------
    def observe(self, take: Take, model: ParametricModel) -> Point | None:
        """Measure a new train/val take before any training step has used it; returns the point
        once kept (appended to prequential.jsonl). A measurement with no reference yet (no other
        val take known) is held in memory until a val take is measured under the same weights,
        and kept without one when the weights move: the first takes of a capture come before
        any val take."""
        if take.split not in ("train", "val") or self._known(take.take_id):
            return None
        key = fingerprint(model)
        if key != self._held_key:
            self._release()
            self._held_key = key
        if take.split == "val" and len(self.ref_takes) < REF_TAKES:
            self.ref_takes.append(take)
        with evaluating(model):
            self._held.append((take, take_esr(model, take)))
            kept = self._settle(model)
        return next((p for p in kept if p.take_id == take.take_id), None)

    def _known(self, take_id: str) -> bool:
        return any(p.take_id == take_id for p in self.points) or any(t.take_id == take_id for t, _ in self._held)

    def _settle(self, model: ParametricModel) -> list[Point]:
        """Keep the held measurements that now have a reference."""
        kept, held = [], []
        for take, error in self._held:
            ref = self._reference(model, exclude=take.take_id)
            if ref is None:
                held.append((take, error))
            else:
                kept.append(self._keep(take, error, ref))
        self._held = held
        return kept

    def _release(self) -> None:
        """The weights moved: no reference can come for what is held; keep it without one."""
        for take, error in self._held:
            self._keep(take, error, None)
        self._held = []

    def _keep(self, take: Take, error: float, ref: float | None) -> Point:
        point = Point(
            take.take_id,
            take.setting_id,
            take.split,
            [float(v) for v in take.controls],
            error,
            ref,
            self.epoch,
            time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        self.out.mkdir(parents=True, exist_ok=True)
        append_line(self.path, json.dumps(asdict(point), separators=(",", ":")))
        self.points.append(point)
        return point

    def _reference(self, model: ParametricModel, exclude: str) -> float | None:
        """Geometric-mean ESR of the reference val takes (the measured one aside) under the
        model's current weights; each take is measured once per set of weights."""
        key = fingerprint(model)
        if self._ref_cache[0] != key:
            self._ref_cache = (key, {})
        cache = self._ref_cache[1]
        logs = []
        for t in self.ref_takes:
            if t.take_id == exclude:
                continue
            if t.take_id not in cache:
                cache[t.take_id] = take_esr(model, t, REF_SECONDS)
            logs.append(math.log(max(cache[t.take_id], 1e-12)))
        return math.exp(float(np.mean(logs))) if logs else None

    # ---- proposing -----------------------------------------------------------------------
    def after_epoch(self, pool: TakePool) -> Path | None:
        """Called by the trainer after each epoch (observe() measured the takes)."""
        self.epoch += 1
        self._release()
        if len(self.ref_takes) < REF_TAKES:  # after a restart the val takes are not observed again
            known = {t.take_id for t in self.ref_takes}
            self.ref_takes += [t for t in pool.val if t.take_id not in known][: REF_TAKES - len(self.ref_takes)]
        return self.propose_if_due()

    def propose_if_due(self) -> Path | None:
        """Write the next batch's proposal when the capture will wait for one and none is
        written yet; never rewrites a batch. Returns the file written."""
        done = accepted_batches(self.folder)
        batch = done[-1].batch + 1 if done else 1  # next_batch(), from the one read of accepted.jsonl
        left = proposed_takes(self.plan) - sum(len(b.settings) for b in done)
        if left <= 0 or proposal_path(self.folder, batch).exists():
            return None
        taken = self.static_taken + [s.values for b in done for s in b.settings]
        pick = self.choose(taken, min(self.block.batch, left) + EXTRA, batch)
        path = write_proposal(
            self.folder,
            batch,
            [{"values": v, "score": s} for v, s in zip(pick.values, pick.scores)],
            based_on_takes=pick.based_on,
            signal=pick.signal,
        )
        self.events.emit(
            "active_proposal",
            batch=batch,
            count=len(pick.values),
            signal=pick.signal,
            based_on_takes=pick.based_on,
            settings=pick.values,
            map=pick.map,  # what the dashboard draws behind the knob space; None while space-filling
        )
        return path

    def choose(self, taken: list[dict], count: int, batch: int) -> Choice:
        """Up to `count` settings (dial values) and what they rest on."""
        usable = [p for p in self.points if p.relative is not None and (p.ref_esr or 1.0) < MAX_REF_ESR]
        signal = (
            f"space-filling (only {len(usable)} prequential points with a reference ESR below "
            f"{MAX_REF_ESR:g}, {MIN_POINTS} needed)"
        )
        if len(usable) >= MIN_POINTS:
            cand_values, cands = candidate_pool(self.plan, self.block.pool, batch)
            anchors = np.array([normalised(self.plan, v) for v in taken + self.test_values])
            min_d = self.block.min_distance
            free = far_from(cands, anchors.reshape(-1, cands.shape[1]), min_d)  # the capture refuses the others
            X = np.array([p.x for p in usable])
            y = np.array([p.relative for p in usable], dtype=float)
            try:
                surrogate = Surrogate.fit(X, y)
                picks, scores = ucb_batch(surrogate, cands, free, count, min_d)
                values = [cand_values[i] for i in picks]
                return Choice(values, list(scores), GP_SIGNAL, len(usable), knob_space_map(self.plan, surrogate, cands))
            except (np.linalg.LinAlgError, ValueError) as exc:  # a degenerate fit must not stop training
                signal = f"space-filling (the surrogate failed: {exc})"
        # The plan's own Sobol continuation, as a timeout would give, only sooner: uniform over
        # the space (a max-min design put nearly every knob of a 4-knob batch at 0 or 10).
        return Choice(sobol_after(self.plan, taken + self.test_values, count), [None] * count, signal, len(usable))


def candidate_pool(plan: Plan, size: int, batch: int) -> tuple[list[dict], np.ndarray]:
    """`size` Sobol settings (a fresh scramble per batch), snapped to the dials, duplicates
    removed; their dial values and normalised coordinates."""
    d = len(plan.sampled_knobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol warns for sizes that are not powers of two
        unit = qmc.Sobol(d, seed=np.random.default_rng([plan.settings.seed, 7919, batch])).random(size)
    values, seen = [], set()
    for v in unit_to_dials(plan, unit):
        key = tuple(v[k.name] for k in plan.sampled_knobs)
        if key not in seen:
            seen.add(key)
            values.append(v)
    return values, np.array([normalised(plan, v) for v in values])


def knob_space_map(plan: Plan, model: Surrogate, cands: np.ndarray, bins: int = MAP_BINS) -> dict:
    """The surrogate's view of the knob space, for the dashboard: for each pair of sampled
    knobs a bins x bins grid (error[i][j]: x in bin i, y in bin j, over each knob's range) of
    the predicted error relative to an average unseen setting (the geometric mean over the
    candidates in the cell: a projection over the other knobs) and of the surrogate's std in
    log-ESR. Cells no candidate falls in are None."""
    mean, std = model.mean(cands), model.std(cands)
    cell = np.minimum((cands * bins).astype(int), bins - 1)
    names = [k.name for k in plan.sampled_knobs]
    pairs = []
    for a, b in itertools.combinations(range(len(names)), 2):
        flat = cell[:, a] * bins + cell[:, b]
        count = np.bincount(flat, minlength=bins * bins)
        cell_mean = np.bincount(flat, mean, bins * bins) / np.maximum(count, 1)
        cell_std = np.bincount(flat, std, bins * bins) / np.maximum(count, 1)
        pairs.append(
            {
                "x": names[a],
                "y": names[b],
                "error": _grid(np.exp(cell_mean), count, bins),
                "std": _grid(cell_std, count, bins),
            }
        )
    return {"bins": bins, "pairs": pairs}


def _grid(values: np.ndarray, count: np.ndarray, bins: int) -> list[list[float | None]]:
    return [
        [float(f"{values[i * bins + j]:.3g}") if count[i * bins + j] else None for j in range(bins)]
        for i in range(bins)
    ]


def far_from(points: np.ndarray, anchors: np.ndarray, distance: float) -> np.ndarray:
    """Which points keep at least `distance` (and are not equal) to every anchor."""
    if not len(anchors):
        return np.ones(len(points), dtype=bool)
    gap = np.min(np.linalg.norm(points[:, None, :] - anchors[None, :, :], axis=2), axis=1)
    return (gap >= distance) & (gap > 1e-9)


@dataclass
class Surrogate:
    """A GP posterior of log(ESR / reference) over normalised knobs. The targets are centred
    but not scaled: scaled, differences at the noise level would look as large as real ones.
    The amplitude's lower bound keeps some prior uncertainty (SIGNAL_STD_MIN, in log-ESR) so a
    flat surface leaves the batch to the uncertainty term, i.e. to spreading out."""

    X: np.ndarray
    y: np.ndarray  # centred targets
    shift: float
    signal: Kernel  # the kernel without its white noise
    noise: float

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray) -> Surrogate:
        shift = float(np.mean(y))
        d = X.shape[1]
        amplitude = ConstantKernel(0.25, (SIGNAL_STD_MIN**2, 100.0))
        noise = WhiteKernel(0.01, (NOISE_STD_MIN**2, 1.0))
        kernel = amplitude * Matern(np.full(d, 0.3), (0.05, 5.0), nu=2.5) + noise
        gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a bound reached is fine here
            gp.fit(X, y - shift)
        fitted = gp.kernel_
        return cls(X, y - shift, shift, fitted.k1, float(fitted.k2.noise_level))

    def mean(self, C: np.ndarray) -> np.ndarray:
        K = self.signal(self.X) + self.noise * np.eye(len(self.X))
        alpha = cho_solve(cho_factor(K, lower=True), self.y)
        return self.shift + self.signal(C, self.X) @ alpha

    def std(self, C: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        """Posterior std at C (log units, noise excluded), as if `extra` were observed too."""
        X = self.X if extra is None or not len(extra) else np.vstack([self.X, extra])
        L = np.linalg.cholesky(self.signal(X) + self.noise * np.eye(len(X)))
        v = solve_triangular(L, self.signal(X, C), lower=True)
        var = np.clip(self.signal.diag(C) - np.sum(v * v, axis=0), 0.0, None)
        return np.sqrt(var)


def ucb_batch(
    model: Surrogate, cands: np.ndarray, free: np.ndarray, count: int, min_d: float, kappa: float = UCB_KAPPA
) -> tuple[list[int], list[float]]:
    """Greedy GP-BUCB: the best upper bound, then its neighbourhood excluded and the variance
    shrunk as if it were measured, again. Returns candidate indices and their UCB, best first."""
    alive, picks, scores = free.copy(), list[int](), list[float]()
    mean = model.mean(cands)
    while len(picks) < count and alive.any():
        ucb = mean + kappa * model.std(cands, cands[picks])
        i = int(np.argmax(np.where(alive, ucb, -np.inf)))
        picks.append(i)
        scores.append(float(ucb[i]))
        alive &= far_from(cands, cands[i : i + 1], min_d)
    return picks, scores
