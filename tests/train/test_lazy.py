"""Segments read on demand: equal to whole-file reads, bounded memory, a session larger
than the cache trains, and the LR schedule over the budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from rig.session import read_manifest
from rig.train.data import SegmentSampler, TakePool, val_batches
from rig.train.schedule import cosine_factor
from rig.train.trainer import TrainingRun

from .conftest import quick_options, tiny_config


def _pool(session, cache_mb: float, context: int = 100) -> TakePool:
    pool = TakePool(session, context=context, cache_mb=cache_mb)
    for record in read_manifest(session.folder):
        pool.add(record)
    return pool


def test_segment_reads_equal_whole_file_reads(session):
    from_disk, in_memory = _pool(session, cache_mb=0), _pool(session, cache_mb=64)
    assert from_disk.cache.used == 0
    for lazy, cached in zip(from_disk.train, in_memory.train):
        record = next(r for r in read_manifest(session.folder) if r["take_id"] == lazy.take_id)
        whole_x, _ = sf.read(session.folder / record["files"]["dry"], dtype="float32")
        whole_y, _ = sf.read(session.folder / record["files"]["wet"], dtype="float32")
        start, end = record["content"]
        np.testing.assert_array_equal(lazy.x, whole_x[start - 100 : end])
        np.testing.assert_array_equal(lazy.y, whole_y[start - 100 : end])
        np.testing.assert_array_equal(lazy.span("x", 1234, 5678), whole_x[start - 100 + 1234 : start - 100 + 5678])
        np.testing.assert_array_equal(cached.span("y", 1234, 5678), lazy.span("y", 1234, 5678))
    a = SegmentSampler(4000, 100, set(), seed=3).batch(from_disk.train, 6)
    b = SegmentSampler(4000, 100, set(), seed=3).batch(in_memory.train, 6)
    assert a.take_ids == b.take_ids
    assert np.array_equal(a.x, b.x)
    assert np.array_equal(a.y, b.y)
    va = val_batches(from_disk.val, 4000, 100, set(), 8, 4)
    vb = val_batches(in_memory.val, 4000, 100, set(), 8, 4)
    assert all(np.array_equal(p.x, q.x) and np.array_equal(p.y, q.y) for p, q in zip(va, vb))


def test_the_cache_holds_whole_takes_only_up_to_its_budget(session):
    pool = _pool(session, cache_mb=1.0)  # each 1.1 s take is ~0.4 MB of x + y
    SegmentSampler(4000, 100, set(), seed=0).batch(pool.train, 32)
    per_take = pool.train[0].length * 8
    assert len(pool.cache.arrays) == 2
    assert pool.cache.used == 2 * per_take <= 2**20


def test_a_session_larger_than_the_cache_trains(session):
    seen = {"train": set(), "val": set()}
    opts = quick_options(max_epochs=3, cache_mb=0.5, on_batch=lambda split, ids: seen[split].update(ids))
    trainer = TrainingRun(session.folder, tiny_config("tcn"), opts)
    result = trainer.run()
    assert result.status == "finished"
    assert math.isfinite(result.test["esr"])
    cache = trainer.pool.cache
    assert cache.used <= 0.5 * 2**20
    assert len(cache.arrays) < trainer.pool.takes_used
    assert len(seen["train"]) > len(cache.arrays)  # takes outside the cache were trained on too
    test_ids = {r["take_id"] for r in read_manifest(session.folder) if r["split"] == "test"}
    assert not (seen["train"] | seen["val"]) & test_ids


def test_cosine_schedule_warms_up_then_decays_to_the_floor():
    assert cosine_factor(0.0, 0, 10, 0.02) == 0.1
    assert cosine_factor(0.0, 50, 10, 0.02) == 1.0
    assert math.isclose(cosine_factor(0.5, 50, 10, 0.02), 0.51)
    assert math.isclose(cosine_factor(1.0, 50, 10, 0.02), 0.02)
    assert cosine_factor(2.0, 50, 0, 0.02) == cosine_factor(1.0, 50, 0, 0.02)


def test_cosine_schedule_follows_the_budget_and_recoveries(session):
    cfg = tiny_config("tcn", schedule="cosine", warmup_steps=2, final_lr_fraction=0.1)
    trainer = TrainingRun(session.folder, cfg, quick_options(budget_minutes=1.0))
    lr = lambda: trainer.optimizer.param_groups[0]["lr"]  # noqa: E731
    trainer._schedule_lr(0.0)
    assert math.isclose(lr(), 0.005)  # first warm-up step: half the peak
    trainer.state.steps = 10
    trainer._schedule_lr(30.0)  # half the budget spent within this epoch
    assert math.isclose(lr(), 0.01 * 0.55)
    trainer.state.budget_used_s, trainer.state.lr_scale = 60.0, 0.5  # the end, after one recovery
    trainer._schedule_lr(5.0)
    assert math.isclose(lr(), 0.01 * 0.5 * 0.1)


def test_take_metrics_chunk_the_mrstft_of_long_takes_only(monkeypatch):
    import torch

    from rig.train import trainer
    from rig.train.losses import metrics, mrstft_loss

    rng = np.random.default_rng(0)
    target = rng.standard_normal(12000).astype(np.float32)
    pred = (target + 0.1 * rng.standard_normal(12000)).astype(np.float32)
    mr = mrstft_loss()
    whole = metrics(torch.from_numpy(pred)[None, None], torch.from_numpy(target)[None, None], mr)
    assert trainer.take_metrics(pred, target, mr) == pytest.approx(whole, rel=1e-6)  # one chunk: as before
    monkeypatch.setattr(trainer, "METRIC_CHUNK", 5000)  # chunks 0-5000 and 5000-12000 (the 2000 tail joins)
    chunked = trainer.take_metrics(pred, target, mr)
    parts = [
        float(mr(torch.from_numpy(pred[a:b])[None, None], torch.from_numpy(target[a:b])[None, None])) * (b - a)
        for a, b in ((0, 5000), (5000, 12000))
    ]
    assert chunked["esr"] == pytest.approx(whole["esr"], rel=1e-6)
    assert chunked["mrstft"] == pytest.approx(sum(parts) / 12000, rel=1e-6)
