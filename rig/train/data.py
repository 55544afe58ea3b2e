"""Training data from a session directory: takes from manifest lines, grouped by the split of
their knob setting, cut into fixed-length segments of (input, target, controls).

Split discipline. A take's split comes from its setting in session.yaml (the plan's draw) and
must agree with the manifest line; test takes are kept apart as records and their audio is
loaded only for the final evaluation. Every batch is checked again before it is returned.

Memory. A take holds no audio of its own: it reads the spans it is asked for from its WAV
files (soundfile seeks). An AudioCache keeps whole takes in memory up to a byte budget, filled
in order of first use and never evicted: a session that fits trains from memory as before,
a larger one (a 13-minute Marshall session is ~4 GB of train audio) reads its other takes'
segments from disk (~60 kB per segment, far cheaper than the training step), so the RSS
stays bounded whatever the session size.
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


DEFAULT_CACHE_MB = 256.0  # the bench and demo sessions fit; a training step itself peaks at ~0.5 GB


class AudioCache:
    """Whole takes' (x, y) kept in memory until `max_bytes` is used; takes that do not fit
    are read span by span from disk instead (no eviction: no churn on random segments)."""

    def __init__(self, max_bytes: float):
        self.max_bytes = max_bytes
        self.used = 0
        self.arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def whole(self, take: "Take") -> tuple[np.ndarray, np.ndarray] | None:
        key = id(take)
        if key not in self.arrays and self.used + take.length * 8 <= self.max_bytes:
            self.arrays[key] = (take.read_file("x", 0, take.length), take.read_file("y", 0, take.length))
            self.used += take.length * 8
        return self.arrays.get(key)


@dataclass(eq=False)  # identity: the cache keys on it
class Take:
    take_id: str
    setting_id: int
    split: str
    knobs: dict
    controls: np.ndarray  # float32 (n_controls,), 0..1 in plan order
    files: dict[str, Path]  # "x": model input, "y": target
    first: int  # file sample where the take's span begins (context included)
    length: int  # samples from `first` to the content end
    offset: int  # samples of context before the content start (the span's first `offset` samples)
    ready_at: float  # unix time the manifest line appeared (recorded_at, else file mtime)
    sample_rate: int = 48000
    cache: AudioCache | None = None

    @property
    def content_len(self) -> int:
        return self.length - self.offset

    def span(self, kind: str, lo: int, hi: int) -> np.ndarray:
        """Samples lo..hi of the take's span (0 = `first`) of x or y, from the cache or the file."""
        whole = self.cache.whole(self) if self.cache else None
        return whole[0 if kind == "x" else 1][lo:hi] if whole else self.read_file(kind, lo, hi)

    def read_file(self, kind: str, lo: int, hi: int) -> np.ndarray:
        return _read(self.files[kind], self.first + lo, self.first + min(hi, self.length), self.sample_rate)

    @property
    def x(self) -> np.ndarray:
        """The whole input span (read on each use, not kept)."""
        return self.span("x", 0, self.length)

    @property
    def y(self) -> np.ndarray:
        return self.span("y", 0, self.length)


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
        raise UserError(
            f"take {record.get('take_id')}: manifest line lacks knobs_norm for {missing}; the session is damaged"
        )
    return np.array([float(norm[n]) for n in knob_names], dtype=np.float32)


def load_take(
    folder: Path,
    record: dict,
    knob_names: list[str],
    input_kind: str,
    context: int,
    sample_rate: int,
    cache: AudioCache | None = None,
) -> Take:
    """The content range plus up to `context` earlier samples: the device heard them, so they
    are the honest history for the first content samples (zeros only before the file). The
    files are checked here (readable, rate, length); their audio is read when used."""
    start, end = (int(v) for v in record["content"])
    first = max(0, start - context)
    files = {"x": folder / record["files"][input_kind], "y": folder / record["files"]["wet"]}
    for path in files.values():
        _check(path, end, sample_rate)
    return Take(
        record["take_id"],
        int(record["setting_id"]),
        record["split"],
        record.get("knobs", {}),
        controls_of(record, knob_names),
        files,
        first,
        end - first,
        start - first,
        ready_time(folder, record),
        sample_rate,
        cache,
    )


def _check(path: Path, end: int, sample_rate: int) -> None:
    try:
        info = sf.info(str(path))
    except (OSError, sf.LibsndfileError) as exc:
        raise UserError(f"cannot read {path}: {exc}; the session's take files are missing or damaged") from None
    if info.samplerate != sample_rate:
        raise UserError(
            f"{path} is {info.samplerate} Hz but the plan says {sample_rate} Hz; the session is inconsistent"
        )
    if info.frames < end:
        raise UserError(
            f"{path} has {info.frames} samples but its manifest line says the content ends at {end}; "
            "the session's take files are damaged"
        )


def _read(path: Path, first: int, end: int, sample_rate: int) -> np.ndarray:
    try:
        data, sr = sf.read(path, start=first, stop=end, dtype="float32", always_2d=True)
    except (OSError, sf.LibsndfileError) as exc:
        raise UserError(f"cannot read {path}: {exc}; the session's take files are missing or damaged") from None
    if sr != sample_rate:
        raise UserError(f"{path} is {sr} Hz but the plan says {sample_rate} Hz; the session is inconsistent")
    return np.ascontiguousarray(data[:, 0])


class TakePool:
    """The takes one training run knows, by split. Train/val takes are checked on arrival
    and read through the pool's cache; test takes stay manifest records until `load_test()`."""

    def __init__(self, session: Session, input_kind: str = "dry", context: int = 0, cache_mb: float = DEFAULT_CACHE_MB):
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
        self.cache = AudioCache(cache_mb * 2**20)  # train/val only: test takes are read once, at the end

    def split_for(self, record: dict) -> str | None:
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
        take = load_take(
            self.session.folder, record, self.knob_names, self.input_kind, self.context, self.sample_rate, self.cache
        )
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
        x = t.span("x", max(lo, 0), s + segment)
        xs.append(np.pad(x, (max(-lo, 0), 0)))
        ys.append(t.span("y", s, s + segment))
    return Batch(
        torch.from_numpy(np.stack(xs))[:, None],
        torch.from_numpy(np.stack(ys))[:, None],
        torch.from_numpy(np.stack([t.controls for t in takes])),
        [t.take_id for t in takes],
    )


def val_batches(
    takes: list[Take], segment: int, context: int, test_ids: set[int], max_segments: int, batch_size: int
) -> list[Batch]:
    """Fixed validation segments spread evenly over the val takes (same every epoch)."""
    check_split(takes, "val", test_ids)
    spots = [
        (t, t.offset + k * segment) for t in takes if t.content_len >= segment for k in range(t.content_len // segment)
    ]
    if len(spots) > max_segments:
        keep = np.linspace(0, len(spots) - 1, max_segments).round().astype(int)
        spots = [spots[i] for i in keep]
    return [
        cut([t for t, _ in part], [s for _, s in part], segment, context)
        for part in (spots[i : i + batch_size] for i in range(0, len(spots), batch_size))
    ]
