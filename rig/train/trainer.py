"""The training run of one model on one session: follow the capture, train in epochs of a fixed
number of segments, validate, checkpoint, recover from divergence, stop at convergence or
budget, then test on the held-out settings, export and report.

An epoch is a fixed number of optimizer steps on random segments (`epoch_steps`, or more when
`epoch_segments` asks for more), not a pass over the data: the pool grows while the capture
runs, and a fixed-size epoch keeps LR-plateau and early-stopping patience meaning the same
amount of training whatever the session size.

CPU defaults. On a CPU the number of optimizer steps per second is what limits convergence,
so the shipped TCN configs train on short segments (training.segment_s 0.25 s, with the
receptive field prepended as context so every loss sample sees its full history) instead of
the papers' 3 s, which suits GPUs: on 2 cores a batch of 8 x 3 s takes ~5 s per step, one of
8 x 0.25 s ~0.3 s, and per sample the short batch is also ~2.5x faster (cache). On the demo
session 0.5 s and 0.25 s segments reached the same ESR after the same number of steps, so the
shorter one wins by its step rate. An epoch is then 25 steps (~10 s on 2 cores) followed by
validation on a fixed subset of val segments (~1 s). The old definition, 16 segments of 3 s,
gave 2 steps per epoch: a 4-minute budget was ~16 optimizer steps and the model stayed at
ESR ~1. `rig train` passes --epoch-segments 16, so `epoch_steps` (a floor) is what sets the
epoch there. For the same reason the default TCN config decays its LR over the budget
(schedule: cosine) and trains on L1 alone (MR-STFT costs ~40 % of a CPU step); measured with
`rig bench quality` (README, "Model quality"). A GPU gets other defaults (rig/train/device.py).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from rig.errors import UserError
from rig.session import EVENTS_FILE, TRAIN_DIR, EventLog, Session
from rig.train import checkpoint
from rig.train.capture_follower import CaptureFollower
from rig.train.config import ModelConfig
from rig.train.data import DEFAULT_CACHE_MB, Batch, SegmentSampler, Take, TakePool, check_split, val_batches
from rig.train.device import profile
from rig.train.losses import TrainLoss, metrics, mrstft_loss
from rig.train.models import ParametricModel, build_model
from rig.train.progress import EpochProgress
from rig.train.schedule import cosine_factor
from rig.train.step import step_workers, train_step


@dataclass
class TrainOptions:
    follow: bool = False
    budget_minutes: float | None = None  # None: the plan's train.budget_minutes
    budget_steps: int | None = None  # instead of wall time: the same run on a busy or idle machine (benches)
    batch_size: int | None = None  # None: the device's default (8 on a CPU)
    epoch_segments: int = 16  # segments per epoch, at least; with short segments epoch_steps rules
    epoch_steps: int = 25  # optimizer batches per epoch, at least: ~10 s of TCN-45 on 2 cores
    segment_s: float | None = None  # None: the device's default, else the model config's training.segment_s
    device: str = "auto"  # auto | cpu | cuda | mps (rig/train/device.py)
    patience: int | None = None  # early stopping, in epochs; None: the config's
    plateau_patience: int | None = None  # None: the config's
    input_kind: str = "dry"  # or "loopback"
    max_context: int = 48000  # cap on prepended history (S4 reports a long receptive field)
    poll_s: float = 1.0
    idle_timeout_s: float = 3600.0
    divergence_factor: float = 10.0  # a loss this many times the best counts as divergence
    divergence_lr_factor: float = 0.5
    max_recoveries: int = 8
    max_epochs: int | None = None
    val_segments: int = 32
    stream_block: int = 65536  # samples per step when evaluating whole takes
    cache_mb: float = DEFAULT_CACHE_MB  # train/val audio kept in memory; the rest is read per segment
    threads: int | None = None
    seed: int = 0
    fresh: bool = False
    progress: bool = True
    export: bool = True
    report: bool = True
    on_batch: Callable[[str, list[str]], None] | None = None  # (split, take ids): lets tests audit
    on_epoch: Callable[[RunState], None] | None = None  # after each good epoch's checkpoint (sweeps report to Tune)
    test: bool = True  # test on the held-out settings at the end (a sweep tests only its best trial)


@dataclass
class RunState:
    epoch: int = 0
    best: float = math.inf
    best_epoch: int = 0
    since_best: int = 0
    budget_used_s: float = 0.0
    recoveries: int = 0
    val_takes: int = 0
    steps: int = 0  # optimizer steps taken
    lr_scale: float = 1.0  # cosine schedule: lowered by divergence recoveries
    train_seconds: float = 0.0  # wall time spent in training steps (validation excluded)
    history: list[dict] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    stop_reason: str = ""


@dataclass
class Result:
    model: str
    status: str  # finished | skipped
    message: str = ""
    best_val_loss: float | None = None
    test: dict | None = None
    files: dict = field(default_factory=dict)


class TrainingRun:
    def __init__(self, folder: Path, cfg: ModelConfig, options: TrainOptions | None = None):
        opts = options or TrainOptions()
        self.profile = profile(opts.device)
        self.device = self.profile.device
        self.opts = replace(
            opts,
            batch_size=opts.batch_size or self.profile.batch_size,
            segment_s=opts.segment_s or self.profile.segment_s,
        )
        self.session = Session.open(folder)
        self.plan = self.session.plan()
        self.cfg = cfg
        self.events = EventLog(self.session.folder / EVENTS_FILE)
        self.out = self.session.folder / TRAIN_DIR / cfg.name
        torch.manual_seed(self.opts.seed)
        self.model: ParametricModel = build_model(cfg, len(self.plan.sampled_knobs)).to(self.device)
        self.context = min(max(int(self.model.receptive_field) - 1, 0), self.opts.max_context)
        self.pool = TakePool(self.session, self.opts.input_kind, self.context, self.opts.cache_mb)
        self.test_ids = {s.id for s in self.session.settings() if s.split == "test"}
        self.follower = CaptureFollower(self.session.folder, self.opts.follow, self.opts.idle_timeout_s)
        t = cfg.training
        self.segment = round((self.opts.segment_s or t.segment_s) * self.pool.sample_rate)
        self.sampler = SegmentSampler(self.segment, self.context, self.test_ids, self.opts.seed)
        self.criterion = TrainLoss(t.loss.l1, t.loss.mrstft, t.loss.esr).to(self.device)
        self.mr = mrstft_loss().to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=t.lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=t.plateau_factor, patience=self.opts.plateau_patience or t.plateau_patience
        )
        # A cosine schedule is shaped to end at the budget, its low-LR tail being where it gains
        # most (bench quality, 30 min: stopped early at 10.5 min with the LR still near its peak),
        # so it stops early only when asked (--patience); plateau after the config's patience.
        self.patience = self.opts.patience or (t.early_stop_patience if t.schedule == "plateau" else None)
        budget = self.opts.budget_minutes or self.plan.train.budget_minutes
        self.budget_s = budget * 60.0
        self.state = RunState()
        self._val_cache: tuple[int, list[Batch]] = (-1, [])
        self._pending: dict[str, tuple[str, float]] = {}  # take id -> (split, ready_at) until first use
        self.proposer = self._active_proposer()
        self.workers = 1  # threads a training batch is split over; run() sets it from the threads

    # ---- the run ---------------------------------------------------------------------
    def run(self) -> Result:
        threads = self.opts.threads or torch.get_num_threads()
        self.workers = step_workers(self.model, self.cfg.training.tbptt_samples, self.device, threads)
        torch.set_num_threads(1 if self.workers > 1 else threads)  # split steps: one intra-op thread each
        self._resume()
        message = self._wait_for_takes()
        if message:
            self.events.emit("alert", level="warning", kind="train_skipped", message=message)
            return Result(self.cfg.name, "skipped", message)
        self.events.emit(
            "train_started",
            model=self.cfg.name,
            params=self.model.n_params(),
            receptive_field=int(self.model.receptive_field),
            takes=self.pool.takes_used,
        )
        with EpochProgress(self.cfg.name, self.budget_s, self.opts.progress) as bar:
            while not self._should_stop():
                started = time.monotonic()
                self._epoch()
                if self.follower.ended:  # training during capture costs no budget
                    self.state.budget_used_s += time.monotonic() - started
                bar.update(self.state, self.follower.ended)
        return self._finish()

    def _should_stop(self) -> bool:
        s, o = self.state, self.opts
        if s.stop_reason:
            return True
        if o.max_epochs is not None and s.epoch >= o.max_epochs:
            s.stop_reason = "max_epochs"
        elif self.follower.ended and self.patience and s.since_best >= self.patience:
            s.stop_reason = "early_stopping"
        elif self.follower.ended and self._budget_progress() >= 1.0:
            s.stop_reason = "budget"
        return bool(s.stop_reason)

    # ---- takes -------------------------------------------------------------------------
    def _wait_for_takes(self) -> str:
        """Block until the plan's min_takes train takes exist; a non-empty return says why
        training cannot start."""
        need = self.plan.train.min_takes
        while True:
            self._add_new_takes()
            have = len(self.pool.train)
            if have >= need or (self.follower.ended and have and not self.follower.aborted):
                return ""
            if self.follower.ended:
                if not self.opts.follow:
                    raise UserError(f"{self.session.folder} has no train takes yet; capture first, or use --follow")
                return f"capture ended ({self.follower.state}) with {have} train takes, fewer than the {need} needed; not training"
            time.sleep(self.opts.poll_s)

    def _add_new_takes(self) -> None:
        for record in self.follower.poll():
            take = self.pool.add(record)
            if take is None:
                continue
            if take.take_id not in self.state.used:
                self._pending[take.take_id] = (take.split, take.ready_at)
                if self.proposer:  # before any step on it: its error now is an honest estimate
                    self.proposer.observe(take, self.model)
            if take.split == "train":
                self.sampler.fresh.append(take)

    def _mark_used(self, take_ids: list[str]) -> None:
        now, used = time.time(), []
        for tid in dict.fromkeys(take_ids):
            if tid in self._pending:
                split, ready = self._pending.pop(tid)
                used.append({"take_id": tid, "split": split, "latency_s": round(now - ready, 3)})
                self.state.used.append(tid)
        if used:
            self.events.emit("train_takes_used", model=self.cfg.name, takes=used, takes_used=self.pool.takes_used)

    # ---- one epoch ---------------------------------------------------------------------
    def _epoch(self) -> None:
        self._add_new_takes()
        train_loss = self._train_steps()
        val = self._validate() if train_loss is not None else None
        if train_loss is None or not self._healthy(train_loss, val):
            self._recover(train_loss, val)
            return
        self._after_epoch(train_loss, val)

    def _train_steps(self) -> float | None:
        """Mean training loss, or None as soon as a step gives a non-finite loss."""
        self.model.train()
        losses = []
        # After the capture the budget may run out mid-epoch (an epoch is long on a busy CPU):
        # stop there, validate, and let _should_stop end the run.
        epoch_start = time.monotonic()
        for i in range(self.steps_per_epoch):
            into_epoch_s = time.monotonic() - epoch_start
            if i and self.follower.ended and self._budget_progress(into_epoch_s) >= 1.0:
                break
            self._schedule_lr(into_epoch_s)
            assert self.opts.batch_size is not None  # __init__ filled it from the device profile
            batch = self.sampler.batch(self.pool.train, self.opts.batch_size)
            self._audit("train", batch.take_ids)
            started = time.monotonic()
            loss = self._step(self._on_device(batch))
            self.state.train_seconds += time.monotonic() - started
            if not math.isfinite(loss):
                return None
            self.state.steps += 1
            losses.append(loss)
            self._mark_used(batch.take_ids)
        return float(np.mean(losses))

    def _schedule_lr(self, into_epoch_s: float) -> None:
        t = self.cfg.training
        if t.schedule != "cosine":
            return
        # Budget time is spent only after the capture ended: until then the LR stays at its peak.
        progress = self._budget_progress(into_epoch_s) if self.follower.ended else 0.0
        factor = cosine_factor(progress, self.state.steps, t.warmup_steps, t.final_lr_fraction)
        for group in self.optimizer.param_groups:
            group["lr"] = t.lr * self.state.lr_scale * factor

    def _budget_progress(self, into_epoch_s: float = 0.0) -> float:
        """How much of the training budget is spent (0..1+): optimizer steps when a step
        budget is set, else wall time after the capture."""
        if self.opts.budget_steps:
            return self.state.steps / self.opts.budget_steps
        return (self.state.budget_used_s + into_epoch_s) / self.budget_s

    @property
    def steps_per_epoch(self) -> int:
        assert self.opts.batch_size is not None  # __init__ filled it from the device profile
        return max(1, self.opts.epoch_steps, math.ceil(self.opts.epoch_segments / self.opts.batch_size))

    def _step(self, batch: Batch) -> float:
        t = self.cfg.training
        return train_step(
            self.model, self.optimizer, self.criterion, batch.x, batch.c, batch.y,
            t.tbptt_samples, t.grad_clip_norm, self.profile.autocast, self.workers,
        )  # fmt: skip

    def _on_device(self, batch: Batch) -> Batch:
        if self.device.type == "cpu":
            return batch

        def move(t: torch.Tensor) -> torch.Tensor:
            return (t.pin_memory() if self.profile.pin_memory else t).to(self.device, non_blocking=True)

        return Batch(move(batch.x), move(batch.y), move(batch.c), batch.take_ids)

    def _audit(self, split: str, take_ids: list[str]) -> None:
        if self.opts.on_batch:
            self.opts.on_batch(split, take_ids)

    # ---- validation, health, bookkeeping ----------------------------------------------------
    @torch.no_grad()
    def _validate(self) -> dict | None:
        if not self.pool.val:
            return None
        if self._val_cache[0] != len(self.pool.val):
            assert self.opts.batch_size is not None  # __init__ filled it from the device profile
            batches = val_batches(
                self.pool.val, self.segment, self.context, self.test_ids, self.opts.val_segments, self.opts.batch_size
            )
            self._val_cache = (len(self.pool.val), [self._on_device(b) for b in batches])
        self.model.eval()
        preds, targets, losses = [], [], []
        for batch in self._val_cache[1]:
            self._audit("val", batch.take_ids)
            with self.profile.autocast():
                pred = self.model(batch.x, batch.c)[..., self.context :].float()
            losses.append(float(self.criterion(pred, batch.y)) * len(batch.take_ids))
            preds.append(pred)
            targets.append(batch.y)
            self._mark_used(batch.take_ids)
        if not preds:
            return None
        m = metrics(torch.cat(preds), torch.cat(targets), self.mr)
        return {"loss": sum(losses) / sum(len(b.take_ids) for b in self._val_cache[1]), **m}

    def _healthy(self, train_loss: float, val: dict | None) -> bool:
        k = self.opts.divergence_factor
        best_train = min((h["train_loss"] for h in self.state.history), default=math.inf)
        if not math.isfinite(train_loss) or train_loss > k * best_train:
            return False
        if val is not None and not math.isfinite(val["loss"]):
            return False
        same_val_set = len(self.pool.val) == self.state.val_takes
        if val is not None and same_val_set and val["loss"] > k * self.state.best:
            return False
        return all(torch.isfinite(p).all() for p in self.model.parameters())

    def _recover(self, train_loss: float | None, val: dict | None) -> None:
        """Back to the last good checkpoint with a lower learning rate."""
        lr = self.optimizer.param_groups[0]["lr"] * self.opts.divergence_lr_factor
        scale = self.state.lr_scale * self.opts.divergence_lr_factor
        kept = (self.state.budget_used_s, self.state.recoveries + 1, self.state.used)
        self._load(checkpoint.load(self.out / checkpoint.LAST))
        self.state.budget_used_s, self.state.recoveries, self.state.used = kept
        self.state.lr_scale = scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.events.emit(
            "alert",
            level="warning",
            kind="train_diverged",
            model=self.cfg.name,
            message=f"{self.cfg.name}: loss diverged ({train_loss}, val {val and val['loss']}); "
            f"restored epoch {self.state.epoch}, learning rate lowered to {lr:.3g}",
        )
        if self.state.recoveries > self.opts.max_recoveries:
            self.state.stop_reason = "diverged"

    def _after_epoch(self, train_loss: float, val: dict | None) -> None:
        s = self.state
        s.epoch += 1
        if len(self.pool.val) != s.val_takes:  # a new val set: earlier bests are not comparable
            s.val_takes, s.best, s.since_best = len(self.pool.val), math.inf, 0
            self.scheduler.best, self.scheduler.num_bad_epochs = self.scheduler.mode_worse, 0
        monitor = val["loss"] if val else train_loss
        if self.cfg.training.schedule == "plateau":
            self.scheduler.step(monitor)
        lr = self.optimizer.param_groups[0]["lr"]
        s.history.append(
            {
                "epoch": s.epoch,
                "train_loss": train_loss,
                "val_loss": val and val["loss"],
                "val_esr": val and val["esr"],
                "lr": lr,
                "takes_used": self.pool.takes_used,
                "t": round(time.time(), 3),
            }
        )
        if monitor < s.best:
            s.best, s.best_epoch, s.since_best = monitor, s.epoch, 0
            checkpoint.save(self.out / checkpoint.BEST, self._snapshot())
        else:
            s.since_best += 1
        checkpoint.save(self.out / checkpoint.LAST, self._snapshot())
        extra = {f"val_{k}": v for k, v in (val or {}).items() if k not in ("loss", "esr")}
        self.events.emit(
            "train_epoch",
            model=self.cfg.name,
            epoch=s.epoch,
            train_loss=train_loss,
            val_loss=val and val["loss"],
            val_esr=val and val["esr"],
            lr=lr,
            takes_used=self.pool.takes_used,
            **extra,
        )
        if self.opts.on_epoch:
            self.opts.on_epoch(s)
        if self.proposer:
            self.proposer.after_epoch(self.pool)

    # ---- checkpoints ---------------------------------------------------------------------
    def _snapshot(self) -> dict:
        return {
            "config": self.cfg.model_dump(mode="json"),
            "n_controls": self.model.n_controls,
            "knobs": self.knob_info(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "run": asdict(self.state),
        }

    def _load(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.state = RunState(**ckpt["run"])

    def _resume(self) -> None:
        last = self.out / checkpoint.LAST
        if last.exists() and not self.opts.fresh:
            ckpt = checkpoint.load(last)
            if ckpt["config"] != self.cfg.model_dump(mode="json"):
                raise UserError(
                    f"{last} was trained with a different {self.cfg.name} config; "
                    "use --fresh to start over (or restore the old config)"
                )
            self._load(ckpt)
            self.state.stop_reason = ""  # a finished run resumes to re-check its stop rule
        else:
            checkpoint.save(last, self._snapshot())  # the state a first-epoch divergence returns to

    def _active_proposer(self):
        """An active plan's batches are proposed by the run that follows the capture (the
        first model of the plan's list; the others train after it ended)."""
        if self.plan.settings.method != "active" or not self.opts.follow or self.follower.ended:
            return None
        from rig.train.acquisition import ActiveProposer

        return ActiveProposer(self.session, self.plan, self.out)

    def knob_info(self) -> list[dict]:
        return [{"name": k.name, "min": k.min, "max": k.max, "label": k.tag} for k in self.plan.sampled_knobs]

    # ---- the end -------------------------------------------------------------------------
    def _finish(self) -> Result:
        torch.set_num_threads(self.opts.threads or default_threads())  # whole-take tests use every thread
        best = self.out / checkpoint.BEST
        if best.exists():
            self.model.load_state_dict(checkpoint.load(best)["model"])
        self.model.to("cpu").eval()  # test, export and report work on the CPU whatever trained it
        self.mr = self.mr.to("cpu")
        test = self.evaluate_test() if self.opts.test else None
        result = Result(
            self.cfg.name,
            "finished",
            self.state.stop_reason,
            None if math.isinf(self.state.best) else self.state.best,
            test,
        )
        if self.opts.export:
            result.files.update(self.export(test))
        if self.opts.report:
            from rig.train.report import write_report

            result.files["report"] = str(write_report(self, test))
        self.events.emit(
            "train_finished",
            model=self.cfg.name,
            best_val_loss=result.best_val_loss,
            test_esr=test and test["esr"],
            epochs=self.state.epoch,
            stop_reason=self.state.stop_reason,
        )
        return result

    def evaluate_test(self) -> dict | None:
        takes = self.pool.load_test()
        if not takes:
            return None
        check_split(takes, "test", set())
        rows: list[dict] = []
        for take in takes:  # one take's audio at a time: a Marshall session has 24 x 45 s
            m = take_metrics(predict(self.model, take, self.opts.stream_block), take.y[take.offset :], self.mr)
            rows.append({"setting_id": take.setting_id, "take_id": take.take_id, "knobs": take.knobs, **m})
        median = takes[int(np.argsort([r["esr"] for r in rows])[len(rows) // 2])]
        self.test_examples = [(median, predict(self.model, median, self.opts.stream_block))]  # the report's example
        per_setting = _by_setting(rows)
        summary = {k: float(np.mean([r[k] for r in per_setting])) for k in ("esr", "mae", "mse", "mape", "mrstft")}
        self.events.emit("train_test", model=self.cfg.name, per_setting=per_setting, **summary)
        return {**summary, "per_setting": per_setting}

    def export(self, test: dict | None) -> dict:
        from rig.train.export import ExportError, export_model

        try:
            files = export_model(self.model, self.out / "export", self.card(test))
        except ExportError as exc:
            self.events.emit("alert", level="error", kind="train_export", model=self.cfg.name, message=str(exc))
            return {}
        self.events.emit("train_exported", model=self.cfg.name, files=list(files.values()))
        onnx = json.loads(Path(files["card"]).read_text())["export"]["onnx"]
        if "error" in onnx:
            self.events.emit("alert", level="warning", kind="train_export", model=self.cfg.name, message=onnx["error"])
        return files

    def card(self, test: dict | None) -> dict:
        return {
            "name": self.cfg.name,
            "config": self.cfg.model_dump(mode="json"),
            "knobs": self.knob_info(),
            "fixed_knobs": {k.name: k.fixed for k in self.plan.knobs if not k.sampled},
            "sample_rate": self.pool.sample_rate,
            "receptive_field": int(self.model.receptive_field),
            "params": self.model.n_params(),
            "input": self.opts.input_kind,
            "device": self.plan.device.name,
            "plan_hash": self.session.info.get("plan_hash"),
            "session": {"folder": self.session.folder.name, "created": self.session.info.get("created")},
            "levels_dbu": {"send": self.plan.audio.send_dbu, "return": self.plan.audio.return_dbu},
            "training": {
                "epochs": self.state.epoch,
                "best_epoch": self.state.best_epoch,
                "best_val_loss": None if math.isinf(self.state.best) else self.state.best,
                "stop_reason": self.state.stop_reason,
                "takes_used": self.pool.takes_used,
            },
            "metrics": {"test": test, "val": self.state.history[-1] if self.state.history else None},
        }


def _by_setting(rows: list[dict]) -> list[dict]:
    groups: dict[int, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["setting_id"], []).append(r)
    return [
        {
            "setting_id": sid,
            "knobs": rs[0]["knobs"],
            **{k: float(np.mean([r[k] for r in rs])) for k in ("esr", "mae", "mse", "mape", "mrstft")},
        }
        for sid, rs in sorted(groups.items())
    ]


METRIC_CHUNK = 480_000  # 10 s at 48 kHz: the MR-STFT of a whole 45 s take at once peaks at ~0.5 GB


@torch.no_grad()
def take_metrics(pred: np.ndarray, target: np.ndarray, mr: torch.nn.Module) -> dict[str, float]:
    """metrics() of a whole take, its MR-STFT averaged over chunks of at most METRIC_CHUNK
    samples (a take that short is one chunk: the same figure as before)."""
    p, t = torch.from_numpy(pred), torch.from_numpy(target)
    out = metrics(p[None, None], t[None, None])
    bounds = list(range(0, len(pred), METRIC_CHUNK))
    if len(bounds) > 1 and len(pred) - bounds[-1] < METRIC_CHUNK // 2:
        bounds.pop()  # a short tail joins the chunk before it
    ends = [*bounds[1:], len(pred)]
    parts = [float(mr(p[None, None, a:b], t[None, None, a:b])) * (b - a) for a, b in zip(bounds, ends)]
    return {**out, "mrstft": sum(parts) / len(pred)}


@torch.no_grad()
def predict(model: ParametricModel, take: Take, block: int) -> np.ndarray:
    """The model's output over a whole take (context included, then dropped), in blocks so
    long takes fit in memory; equal to one whole-take forward (streaming is exact)."""
    model.eval()
    x = torch.from_numpy(take.x)[None, None]
    c = torch.from_numpy(take.controls)[None]
    y = stream(model, x, c, block)
    return y[0, 0, take.offset :].numpy()


@torch.no_grad()
def stream(model: ParametricModel, x: torch.Tensor, c: torch.Tensor, block: int) -> torch.Tensor:
    state = model.init_state(x.shape[0])
    out = []
    for a in range(0, x.shape[-1], block):
        y, state = model.forward_stream(x[..., a : a + block], c, state)
        out.append(y)
    return torch.cat(out, dim=-1)


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
