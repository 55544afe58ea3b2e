"""Training data from a session directory: takes from manifest lines, grouped by the split of
their knob setting, cut into fixed-length segments of (input, target, controls).

Split discipline. A take's split comes from its setting in session.yaml (the plan's draw) and
must agree with the manifest line; test takes are kept apart as records and their audio is
loaded only for the final evaluation. Every batch is checked again before it is returned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from rig.errors import UserError
from rig.session import Session

FIT_SPLITS = ("train", "val")


class SplitLeak(RuntimeError):
    """A take of the wrong split reached a batch: a bug, never a user error."""


@dataclass(eq=False)  # identity: takes hold arrays
class Take:
    take_id: str
    setting_id: int
    split: str
    knobs: dict
    controls: np.ndarray  # float32 (n_controls,), 0..1 in plan order
    x: np.ndarray  # model input from `offset` to the content end (context included)
    y: np.ndarray  # target, same span
    offset: int  # samples of context before the content start available in x/y
    ready_at: float  # unix time the manifest line appeared (recorded_at, else file mtime)

    @property
    def content_len(self) -> int:
        return len(self.x) - self.offset


@dataclass
class Batch:
    x: torch.Tensor  # (B, 1, ctx + seg)
    y: torch.Tensor  # (B, 1, seg)
    c: torch.Tensor  # (B, n_controls)
    take_ids: list[str]


def ready_time(folder: Path, record: dict) -> float:
    stamp = record.get("recorded_at")
    if stamp:
        try:
            return datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            pass
    wet = Path(folder) / record["files"]["wet"]
    return os.path.getmtime(wet) if wet.exists() else 0.0


def controls_of(record: dict, knob_names: list[str]) -> np.ndarray:
    norm = record.get("knobs_norm") or {}
    missing = [n for n in knob_names if n not in norm]
    if missing:
        raise UserError(f"take {record.get('take_id')}: manifest line lacks knobs_norm for {missing}; the session is damaged")
    return np.array([float(norm[n]) for n in knob_names], dtype=np.float32)


def load_take(folder: Path, record: dict, knob_names: list[str], input_kind: str, context: int,
              sample_rate: int) -> Take:
    """Read the content range plus up to `context` earlier samples: the device heard them, so
    they are the honest history for the first content samples (zeros only before the file)."""
    start, end = (int(v) for v in record["content"])
    first = max(0, start - context)
    x = _read(folder / record["files"][input_kind], first, end, sample_rate)
    y = _read(folder / record["files"]["wet"], first, end, sample_rate)
    return Take(record["take_id"], int(record["setting_id"]), record["split"], record.get("knobs", {}),
                controls_of(record, knob_names), x, y, start - first, ready_time(folder, record))


def _read(path: Path, first: int, end: int, sample_rate: int) -> np.ndarray:
    try:
        data, sr = sf.read(path, start=first, stop=end, dtype="float32", always_2d=True)
    except (OSError, sf.LibsndfileError) as exc:
        raise UserError(f"cannot read {path}: {exc}; the session's take files are missing or damaged") from None
    if sr != sample_rate:
        raise UserError(f"{path} is {sr} Hz but the plan says {sample_rate} Hz; the session is inconsistent")
    return np.ascontiguousarray(data[:, 0])


class TakePool:
    """The takes one training run knows, by split. Train/val audio is loaded on arrival;
    test takes stay manifest records until `load_test()` at the end."""

    def __init__(self, session: Session, input_kind: str = "dry", context: int = 0):
        if input_kind not in ("dry", "loopback"):
            raise UserError(f"input {input_kind!r} is not a take file; use dry or loopback")
        self.session = session
        self.plan = session.plan()
        self.knob_names = [k.name for k in self.plan.sampled_knobs]
        self.sample_rate = self.plan.audio.sample_rate
        self.input_kind = input_kind
        self.context = context
        self.split_of = {s.id: s.split for s in session.settings()}
        self.train: list[Take] = []
        self.val: list[Take] = []
        self.test_records: list[dict] = []
        self.seen: set[str] = set()

    def split_for(self, record: dict) -> str:
        """The setting's split from session.yaml; a manifest that disagrees is refused, since
        trusting either side alone could leak a held-out setting into training."""
        planned = self.split_of.get(int(record["setting_id"]), record.get("split"))
        if record.get("split") != planned:
            raise UserError(
                f"take {record['take_id']}: manifest split {record.get('split')!r} differs from the plan's "
                f"{planned!r} for setting {record['setting_id']}; the session is damaged"
            )
        return planned

    def add(self, record: dict) -> Take | None:
        """File one manifest line; returns the loaded take when it joins train or val."""
        if record["take_id"] in self.seen:
            return None
        self.seen.add(record["take_id"])
        split = self.split_for(record)
        if split == "test":
            self.test_records.append(record)
            return None
        if split not in FIT_SPLITS:
            return None  # reference takes check drift; they are no training data
        take = load_take(self.session.folder, record, self.knob_names, self.input_kind, self.context, self.sample_rate)
        (self.train if split == "train" else self.val).append(take)
        return take

    def load_test(self) -> list[Take]:
        return [
            load_take(self.session.folder, r, self.knob_names, self.input_kind, self.context, self.sample_rate)
            for r in self.test_records
        ]

    @property
    def takes_used(self) -> int:
        return len(self.train) + len(self.val)


def check_split(takes: list[Take], split: str, test_ids: set[int]) -> None:
    for t in takes:
        if t.split != split or t.setting_id in test_ids:
            raise SplitLeak(f"take {t.take_id} (split {t.split}, setting {t.setting_id}) in a {split} batch")


@dataclass
class SegmentSampler:
    """Random training segments: `segment` target samples plus `context` input samples before
    them, so a convolutional model's loss falls on outputs with a full receptive field."""

    segment: int
    context: int
    test_setting_ids: set[int]
    seed: int = 0
    fresh: list[Take] = field(default_factory=list)

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)

    def usable(self, takes: list[Take]) -> list[Take]:
        return [t for t in takes if t.content_len >= self.segment]

    def batch(self, takes: list[Take], size: int) -> Batch:
        """New takes go first, so each is used in the first batch after it arrives."""
        pool = self.usable(takes)
        if not pool:
            raise UserError(f"no train take holds a full {self.segment}-sample segment; use a shorter segment_s")
        chosen = [t for t in self.fresh if t in pool][:size]
        self.fresh = [t for t in self.fresh if t not in chosen]
        chosen += [pool[i] for i in self.rng.integers(len(pool), size=size - len(chosen))]
        check_split(chosen, "train", self.test_setting_ids)
        starts = [int(self.rng.integers(t.offset, t.offset + t.content_len - self.segment + 1)) for t in chosen]
        return cut(chosen, starts, self.segment, self.context)


def cut(takes: list[Take], starts: list[int], segment: int, context: int) -> Batch:
    xs, ys = [], []
    for t, s in zip(takes, starts):
        lo = s - context
        x = t.x[max(lo, 0) : s + segment]
        xs.append(np.pad(x, (max(-lo, 0), 0)))
        ys.append(t.y[s : s + segment])
    return Batch(torch.from_numpy(np.stack(xs))[:, None], torch.from_numpy(np.stack(ys))[:, None],
                 torch.from_numpy(np.stack([t.controls for t in takes])), [t.take_id for t in takes])


def val_batches(takes: list[Take], segment: int, context: int, test_ids: set[int], max_segments: int,
                batch_size: int) -> list[Batch]:
    """Fixed validation segments spread evenly over the val takes (same every epoch)."""
    check_split(takes, "val", test_ids)
    spots = [(t, t.offset + k * segment) for t in takes if t.content_len >= segment
             for k in range(t.content_len // segment)]
    if len(spots) > max_segments:
        keep = np.linspace(0, len(spots) - 1, max_segments).round().astype(int)
        spots = [spots[i] for i in keep]
    return [cut([t for t, _ in part], [s for _, s in part], segment, context)
            for part in (spots[i : i + batch_size] for i in range(0, len(spots), batch_size))]
