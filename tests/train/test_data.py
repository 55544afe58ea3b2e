"""Datasets from a session: split discipline, context from the file, controls."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rig.errors import UserError
from rig.session import MANIFEST_FILE, read_manifest
from rig.train.data import SegmentSampler, SplitLeak, TakePool, check_split, val_batches
from rig.train.testing import device


def test_pool_holds_test_takes_apart_and_unloaded(session):
    pool = TakePool(session, context=16)
    for record in read_manifest(session.folder):
        pool.add(record)
    test_settings = {s.id for s in session.settings() if s.split == "test"}
    assert len(pool.test_records) == len(test_settings) == 2
    assert {r["setting_id"] for r in pool.test_records} == test_settings
    assert not any(t.setting_id in test_settings for t in pool.train + pool.val)
    assert len(pool.train) == 6
    assert len(pool.val) == 2


def test_a_test_take_in_a_train_batch_is_refused(session):
    pool = TakePool(session)
    for record in read_manifest(session.folder):
        pool.add(record)
    test_ids = {r["setting_id"] for r in pool.test_records}
    leaked = pool.load_test()[0]
    with pytest.raises(SplitLeak):
        check_split([*pool.train, leaked], "train", test_ids)
    leaked.split = "train"  # even relabelled, its setting id gives it away
    with pytest.raises(SplitLeak):
        SegmentSampler(800, 0, test_ids).batch([leaked], 2)
    with pytest.raises(SplitLeak):
        val_batches([*pool.val, leaked], 800, 0, test_ids, 8, 4)


def test_manifest_split_disagreeing_with_the_plan_is_refused(session):
    path = session.folder / MANIFEST_FILE
    records = read_manifest(session.folder)
    test_record = next(r for r in records if r["split"] == "test")
    test_record["split"] = "train"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    pool = TakePool(session)
    stored = next(r for r in read_manifest(session.folder) if r["take_id"] == test_record["take_id"])
    with pytest.raises(UserError, match="differs from the plan"):
        pool.add(stored)


def test_segments_carry_context_from_before_the_content(session):
    record = next(r for r in read_manifest(session.folder) if r["split"] == "train")
    pool = TakePool(session, context=100)
    take = pool.add(record)
    assert take.offset == 100  # the pre-roll is in the file, so the full context is real audio
    sampler = SegmentSampler(segment=1000, context=100, test_setting_ids=set())
    batch = sampler.batch([take], 3)
    assert batch.x.shape == (3, 1, 1100)
    assert batch.y.shape == (3, 1, 1000)
    assert batch.c.shape == (3, 2)
    np.testing.assert_allclose(batch.c[0].numpy(), [record["knobs_norm"]["gain"], record["knobs_norm"]["tone"]])
    # the target is the device's response to the input including its context
    full = device(take.x, record["knobs_norm"])
    x0 = batch.x[0, 0].numpy()
    start = next(i for i in range(len(take.x) - 1099) if np.array_equal(take.x[i : i + 1100], x0))
    np.testing.assert_allclose(batch.y[0, 0].numpy(), full[start + 100 : start + 1100], atol=1e-6)


def test_new_takes_are_in_the_next_batch(session):
    pool = TakePool(session)
    takes = [pool.add(r) for r in read_manifest(session.folder) if r["split"] == "train"]
    sampler = SegmentSampler(800, 0, set(), seed=1)
    sampler.fresh = takes[-2:]
    assert set(sampler.batch(takes, 4).take_ids) >= {t.take_id for t in takes[-2:]}
    assert sampler.fresh == []


def test_loopback_input_option(session):
    record = next(r for r in read_manifest(session.folder) if r["split"] == "train")
    dry = TakePool(session, "dry").add(record)
    loop = TakePool(session, "loopback").add(record)
    np.testing.assert_allclose(loop.x, 0.98 * dry.x, atol=1e-6)
    with pytest.raises(UserError):
        TakePool(session, "wet")
